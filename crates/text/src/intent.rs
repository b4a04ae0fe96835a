//! Search-query intent from a few labelled examples per intent, by
//! embedding similarity, and mapping queries onto catalogue categories.
//!
//! Raw e5 cosines are bunched (unrelated texts still score ~0.8), so an
//! intent is chosen by *relative* similarity: each intent scores the mean
//! of its `k` most similar examples and the best intent wins; the margin
//! over the runner-up says how sure that is.

use serde::{Deserialize, Serialize};

use crate::encoder::Embeddings;

/// What a shopper wants from a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryIntent {
    /// Looking around a kind of product ("running shoes", "连衣裙").
    CategoryBrowse,
    /// A particular product, model or brand ("iphone 15 pro 256gb").
    SpecificProduct,
    /// Price first: cheap, under a limit, deals ("laptop under 500").
    PriceDriven,
    /// Weighing products against each other ("airpods vs galaxy buds").
    Comparison,
    /// After the purchase: returns, refunds, delivery status, repairs.
    AfterSales,
    /// Pages of the shop itself: login, cart, orders, stores, contact.
    Navigational,
}

impl QueryIntent {
    pub const ALL: [QueryIntent; 6] = [
        QueryIntent::CategoryBrowse,
        QueryIntent::SpecificProduct,
        QueryIntent::PriceDriven,
        QueryIntent::Comparison,
        QueryIntent::AfterSales,
        QueryIntent::Navigational,
    ];

    pub fn name(self) -> &'static str {
        match self {
            QueryIntent::CategoryBrowse => "category_browse",
            QueryIntent::SpecificProduct => "specific_product",
            QueryIntent::PriceDriven => "price_driven",
            QueryIntent::Comparison => "comparison",
            QueryIntent::AfterSales => "after_sales",
            QueryIntent::Navigational => "navigational",
        }
    }
}

/// The built-in labelled examples, Chinese and English, a handful per intent.
pub fn default_examples() -> Vec<(QueryIntent, &'static str)> {
    use QueryIntent::*;
    let table: [(QueryIntent, &[&str]); 6] = [
        (
            CategoryBrowse,
            &[
                "running shoes",
                "women's summer dresses",
                "wireless headphones",
                "kitchen knives",
                "kids toys",
                "连衣裙",
                "男士运动鞋",
                "蓝牙耳机",
                "厨房用品",
                "儿童玩具",
            ],
        ),
        (
            SpecificProduct,
            &[
                "iphone 15 pro max 256gb",
                "nike air max 270 black",
                "sony wh-1000xm5",
                "samsung galaxy s24 ultra",
                "lego 42115",
                "华为 mate 60 pro",
                "小米手环8",
                "戴森 v12 吸尘器",
                "耐克 air force 1 白色",
                "apple watch series 9 45mm",
            ],
        ),
        (
            PriceDriven,
            &[
                "cheap laptop under 500",
                "headphones under $50",
                "best deals on tvs",
                "discount running shoes",
                "clearance sale jackets",
                "便宜的手机",
                "100元以内的耳机",
                "打折 羽绒服",
                "特价 电饭煲",
                "性价比高的笔记本",
            ],
        ),
        (
            Comparison,
            &[
                "iphone vs samsung",
                "airpods pro vs sony wf-1000xm5",
                "which vacuum is better dyson or shark",
                "kindle paperwhite compared to kobo",
                "best phone 2024 comparison",
                "华为和小米哪个好",
                "苹果手机对比三星",
                "空气炸锅哪个牌子好",
                "索尼和bose耳机对比",
                "两款洗衣机的区别",
            ],
        ),
        (
            AfterSales,
            &[
                "how to return an item",
                "refund status",
                "my order has not arrived",
                "warranty repair",
                "exchange wrong size",
                "退货",
                "怎么申请退款",
                "快递还没到",
                "保修 维修",
                "换货流程",
            ],
        ),
        (
            Navigational,
            &[
                "login",
                "my account",
                "shopping cart",
                "order history",
                "customer service contact",
                "store locator",
                "登录",
                "我的订单",
                "购物车",
                "联系客服",
            ],
        ),
    ];
    table
        .into_iter()
        .flat_map(|(intent, texts)| texts.iter().map(move |text| (intent, *text)))
        .collect()
}

/// One classified query.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IntentPrediction {
    pub intent: QueryIntent,
    /// Mean cosine to the winning intent's nearest examples.
    pub similarity: f32,
    /// How far the winner is ahead of the runner-up.
    pub margin: f32,
}

/// Labelled example embeddings.
#[derive(Debug, Clone)]
pub struct IntentClassifier {
    labels: Vec<QueryIntent>,
    examples: Embeddings,
    neighbours: usize,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl IntentClassifier {
    /// `examples` holds one normalised embedding per label, in order.
    pub fn new(labels: Vec<QueryIntent>, examples: Embeddings) -> IntentClassifier {
        IntentClassifier { labels, examples, neighbours: 3 }
    }

    /// Classifies normalised query embeddings.
    pub fn classify(&self, queries: &Embeddings) -> Vec<IntentPrediction> {
        queries.rows().map(|query| self.classify_one(query)).collect()
    }

    fn classify_one(&self, query: &[f32]) -> IntentPrediction {
        let similarities: Vec<f32> =
            self.examples.rows().map(|example| dot(query, example)).collect();
        let mut scores: Vec<(QueryIntent, f32)> = QueryIntent::ALL
            .iter()
            .filter_map(|&intent| {
                let mut own: Vec<f32> = similarities
                    .iter()
                    .zip(&self.labels)
                    .filter(|(_, label)| **label == intent)
                    .map(|(s, _)| *s)
                    .collect();
                if own.is_empty() {
                    return None;
                }
                own.sort_by(|a, b| b.total_cmp(a));
                let top = &own[..own.len().min(self.neighbours)];
                Some((intent, top.iter().sum::<f32>() / top.len() as f32))
            })
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        let (intent, similarity) =
            scores.first().copied().unwrap_or((QueryIntent::CategoryBrowse, 0.0));
        let runner_up = scores.get(1).map_or(similarity, |s| s.1);
        IntentPrediction { intent, similarity, margin: similarity - runner_up }
    }
}

/// For each query, the index of the most similar category embedding and
/// that cosine (`None` when there are no categories).
pub fn nearest_categories(
    queries: &Embeddings,
    categories: &Embeddings,
) -> Vec<Option<(usize, f32)>> {
    queries
        .rows()
        .map(|query| {
            categories
                .rows()
                .enumerate()
                .map(|(index, category)| (index, dot(query, category)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
        })
        .collect()
}
