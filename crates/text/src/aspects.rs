//! Aspect-level sentiment: what a review says about each thing shoppers
//! write about (quality, price, delivery, …), and whether it says it well or
//! badly.
//!
//! A review is cut into clauses ([`crate::segment::clauses`]); a clause
//! mentions an aspect when one of its words is in that aspect's seed lexicon
//! (Chinese words as jieba cuts them, English words and two-word phrases).
//! Each mention gets the clause's polarity: from a trained sentiment model
//! applied to the clause when the caller has one
//! ([`ReviewAspects::mentions_with_scores`]), else from a small opinion
//! lexicon with negation ([`ReviewAspects::mentions_by_lexicon`]).
//!
//! The lexicons are seeds, not a complete vocabulary: a mention is only found
//! where a listed word is used, and an aspect implied without one ("it broke
//! after a week") is missed. Some opinion words name their aspect too: "便宜",
//! "expensive" are price mentions on their own.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Serialize;

use crate::segment::{Clause, Language, Word, clauses, language};

/// What shoppers write about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// How well the product is made: materials, workmanship, genuineness.
    Quality,
    /// Price and value for money.
    Price,
    /// Shipping, couriers, how fast and intact the parcel arrived.
    Delivery,
    /// The seller's and support's service: attitude, returns, refunds.
    Service,
    /// The packaging and the box.
    Packaging,
    /// Size and fit (clothes, shoes), including size charts.
    SizeFit,
    /// Looks: colour, style, design, match with the pictures.
    Appearance,
    /// How the product performs: battery, screen, sound, speed, functions.
    Performance,
}

impl Aspect {
    pub const ALL: [Aspect; 8] = [
        Aspect::Quality,
        Aspect::Price,
        Aspect::Delivery,
        Aspect::Service,
        Aspect::Packaging,
        Aspect::SizeFit,
        Aspect::Appearance,
        Aspect::Performance,
    ];

    /// The snake_case name used in files and column names.
    pub fn name(self) -> &'static str {
        match self {
            Aspect::Quality => "quality",
            Aspect::Price => "price",
            Aspect::Delivery => "delivery",
            Aspect::Service => "service",
            Aspect::Packaging => "packaging",
            Aspect::SizeFit => "size_fit",
            Aspect::Appearance => "appearance",
            Aspect::Performance => "performance",
        }
    }

    pub fn from_name(name: &str) -> Option<Aspect> {
        Aspect::ALL.into_iter().find(|aspect| aspect.name() == name)
    }
}

/// Seed terms per aspect: Chinese words, then English words or two-word phrases.
const ASPECT_TERMS: &[(Aspect, &[&str], &[&str])] = &[
    (
        Aspect::Quality,
        &[
            "质量", "品质", "做工", "材质", "质感", "用料", "手感", "面料", "布料", "质地", "正品",
            "假货", "工艺", "耐用", "结实",
        ],
        &[
            "quality",
            "build",
            "material",
            "materials",
            "durable",
            "sturdy",
            "flimsy",
            "cheaply",
            "genuine",
            "fake",
            "construction",
            "craftsmanship",
        ],
    ),
    (
        Aspect::Price,
        &[
            "价格",
            "价钱",
            "价位",
            "性价比",
            "售价",
            "优惠",
            "降价",
            "差价",
            "价",
            "便宜",
            "实惠",
            "划算",
            "超值",
            "贵",
        ],
        &[
            "price",
            "prices",
            "priced",
            "value",
            "cost",
            "money",
            "expensive",
            "overpriced",
            "pricey",
            "affordable",
            "inexpensive",
            "bargain",
            "deal",
        ],
    ),
    (
        Aspect::Delivery,
        &[
            "物流",
            "快递",
            "送货",
            "发货",
            "配送",
            "到货",
            "送达",
            "运输",
            "快递员",
            "邮寄",
            "顺丰",
            "包邮",
        ],
        &[
            "delivery",
            "delivered",
            "shipping",
            "shipped",
            "shipment",
            "arrived",
            "arrival",
            "courier",
            "package",
            "parcel",
            "ship",
        ],
    ),
    (
        Aspect::Service,
        &[
            "服务",
            "客服",
            "态度",
            "服务态度",
            "售后",
            "卖家",
            "商家",
            "店家",
            "掌柜",
            "服务员",
            "前台",
            "退货",
            "换货",
            "退款",
        ],
        &[
            "service",
            "customer service",
            "support",
            "seller",
            "staff",
            "waiter",
            "waitress",
            "server",
            "manager",
            "refund",
            "refunded",
            "warranty",
        ],
    ),
    (
        Aspect::Packaging,
        &["包装", "外包装", "包装盒", "盒子", "箱子", "纸箱", "泡沫", "封口", "包装袋"],
        &["packaging", "packed", "box", "wrapping", "wrapped", "packing"],
    ),
    (
        Aspect::SizeFit,
        &["尺码", "尺寸", "大小", "码数", "码", "偏大", "偏小", "合身", "大码", "小码", "肥", "瘦"],
        &["size", "sizes", "sizing", "fit", "fits", "fitting", "tight", "loose"],
    ),
    (
        Aspect::Appearance,
        &[
            "外观", "颜色", "样子", "款式", "外形", "设计", "颜值", "图片", "色差", "好看", "漂亮",
            "难看", "样式",
        ],
        &["look", "looks", "color", "colour", "colors", "design", "appearance", "style", "ugly"],
    ),
    (
        Aspect::Performance,
        &[
            "性能", "电池", "续航", "屏幕", "系统", "运行", "效果", "音质", "信号", "功能", "散热",
            "噪音", "像素", "内存", "配置", "待机", "充电",
        ],
        &[
            "battery",
            "screen",
            "performance",
            "sound",
            "signal",
            "reception",
            "camera",
            "function",
            "functions",
            "feature",
            "features",
            "charger",
            "charging",
            "speaker",
            "volume",
        ],
    ),
];

/// Opinion words, +1 or −1. Chinese words may carry a degree adverb or a
/// negator before them and a particle after them in one jieba word ("很快",
/// "不好", "破了"); see [`chinese_opinion`].
const CHINESE_OPINIONS: &[(&str, i32)] = &[
    ("好", 1),
    ("不错", 1),
    ("快", 1),
    ("满意", 1),
    ("喜欢", 1),
    ("漂亮", 1),
    ("好看", 1),
    ("便宜", 1),
    ("实惠", 1),
    ("划算", 1),
    ("超值", 1),
    ("值", 1),
    ("值得", 1),
    ("结实", 1),
    ("舒服", 1),
    ("舒适", 1),
    ("合适", 1),
    ("合身", 1),
    ("新鲜", 1),
    ("好吃", 1),
    ("清晰", 1),
    ("流畅", 1),
    ("耐用", 1),
    ("完好", 1),
    ("热情", 1),
    ("耐心", 1),
    ("周到", 1),
    ("及时", 1),
    ("给力", 1),
    ("赞", 1),
    ("棒", 1),
    ("完美", 1),
    ("精致", 1),
    ("优秀", 1),
    ("推荐", 1),
    ("放心", 1),
    ("好用", 1),
    ("靠谱", 1),
    ("细致", 1),
    ("认真", 1),
    ("专业", 1),
    ("严实", 1),
    ("牢固", 1),
    ("快捷", 1),
    ("迅速", 1),
    ("神速", 1),
    ("好评", 1),
    ("柔软", 1),
    ("正品", 1),
    ("差", -1),
    ("慢", -1),
    ("坏", -1),
    ("破", -1),
    ("破损", -1),
    ("烂", -1),
    ("贵", -1),
    ("失望", -1),
    ("垃圾", -1),
    ("假", -1),
    ("假货", -1),
    ("难用", -1),
    ("问题", -1),
    ("脏", -1),
    ("臭", -1),
    ("漏", -1),
    ("卡", -1),
    ("粗糙", -1),
    ("敷衍", -1),
    ("糟糕", -1),
    ("差劲", -1),
    ("后悔", -1),
    ("坑", -1),
    ("骗", -1),
    ("旧", -1),
    ("瑕疵", -1),
    ("划痕", -1),
    ("变形", -1),
    ("压坏", -1),
    ("碎", -1),
    ("裂", -1),
    ("错", -1),
    ("不符", -1),
    ("色差", -1),
    ("偏大", -1),
    ("偏小", -1),
    ("掉色", -1),
    ("起球", -1),
    ("异味", -1),
    ("难看", -1),
    ("不满", -1),
    ("投诉", -1),
    ("麻烦", -1),
    ("恶劣", -1),
    ("冷漠", -1),
    ("延迟", -1),
    ("不行", -1),
    ("差评", -1),
    ("郁闷", -1),
    ("无语", -1),
    ("生气", -1),
    ("难吃", -1),
    ("死机", -1),
    ("退货", -1),
    ("发热", -1),
    ("一般", -1),
    ("缺少", -1),
    ("少发", -1),
    ("漏发", -1),
    ("物有所值", 1),
];

/// Degree adverbs and negators that jieba may glue to an opinion word.
const CHINESE_PREFIXES: &[&str] = &[
    "非常", "特别", "相当", "十分", "比较", "有点", "有些", "超级", "真是", "很", "太", "超", "挺",
    "真", "好", "最", "蛮", "极", "更", "还", "都", "也", "不", "没", "无", "未",
];
const CHINESE_SUFFIXES: &[&str] = &["了", "的", "啊", "呀", "啦", "哦", "吧", "得", "极了", "死了"];

/// Words that turn the polarity of an opinion after them.
const CHINESE_NEGATORS: &[&str] = &[
    "不",
    "没",
    "没有",
    "无",
    "未",
    "别",
    "非",
    "不是",
    "并不",
    "并没有",
    "从不",
    "从没",
    "毫不",
    "不太",
    "不够",
    "不怎么",
    "不算",
    "一点也不",
    "一点都不",
    "没什么",
    "不会",
];

const ENGLISH_OPINIONS: &[(&str, i32)] = &[
    ("good", 1),
    ("great", 1),
    ("excellent", 1),
    ("fast", 1),
    ("quick", 1),
    ("quickly", 1),
    ("love", 1),
    ("loved", 1),
    ("loves", 1),
    ("perfect", 1),
    ("perfectly", 1),
    ("nice", 1),
    ("beautiful", 1),
    ("sturdy", 1),
    ("comfortable", 1),
    ("recommend", 1),
    ("happy", 1),
    ("satisfied", 1),
    ("awesome", 1),
    ("amazing", 1),
    ("fantastic", 1),
    ("friendly", 1),
    ("helpful", 1),
    ("works", 1),
    ("worked", 1),
    ("fine", 1),
    ("solid", 1),
    ("durable", 1),
    ("reliable", 1),
    ("clear", 1),
    ("affordable", 1),
    ("inexpensive", 1),
    ("reasonable", 1),
    ("bargain", 1),
    ("worth", 1),
    ("impressed", 1),
    ("best", 1),
    ("pleased", 1),
    ("prompt", 1),
    ("courteous", 1),
    ("attentive", 1),
    ("superb", 1),
    ("wonderful", 1),
    ("secure", 1),
    ("excellent", 1),
    ("well", 1),
    ("loud", 1),
    ("crisp", 1),
    ("cute", 1),
    ("genuine", 1),
    ("bad", -1),
    ("poor", -1),
    ("poorly", -1),
    ("slow", -1),
    ("broken", -1),
    ("broke", -1),
    ("damaged", -1),
    ("terrible", -1),
    ("awful", -1),
    ("horrible", -1),
    ("worst", -1),
    ("disappointed", -1),
    ("disappointing", -1),
    ("disappointment", -1),
    ("expensive", -1),
    ("overpriced", -1),
    ("pricey", -1),
    ("late", -1),
    ("rude", -1),
    ("useless", -1),
    ("defective", -1),
    ("flimsy", -1),
    ("junk", -1),
    ("crap", -1),
    ("waste", -1),
    ("failed", -1),
    ("fails", -1),
    ("died", -1),
    ("stopped", -1),
    ("problem", -1),
    ("problems", -1),
    ("issue", -1),
    ("issues", -1),
    ("cheaply", -1),
    ("unhappy", -1),
    ("wrong", -1),
    ("missing", -1),
    ("dirty", -1),
    ("torn", -1),
    ("cracked", -1),
    ("tight", -1),
    ("loose", -1),
    ("ugly", -1),
    ("mediocre", -1),
    ("lousy", -1),
    ("unreliable", -1),
    ("uncomfortable", -1),
    ("unfriendly", -1),
    ("fake", -1),
    ("sucks", -1),
    ("garbage", -1),
    ("annoying", -1),
    ("weak", -1),
    ("difficult", -1),
    ("hate", -1),
    ("returned", -1),
];

const ENGLISH_NEGATORS: &[&str] =
    &["not", "no", "never", "nothing", "hardly", "barely", "without", "neither", "nor", "none"];

/// How many words before an opinion word a negator may stand.
const NEGATION_WINDOW: usize = 3;

/// Which way a mention leans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    Positive,
    Negative,
    /// No opinion word in the clause (lexicon), or opinions that cancel out.
    Neutral,
}

impl Polarity {
    pub fn name(self) -> &'static str {
        match self {
            Polarity::Positive => "positive",
            Polarity::Negative => "negative",
            Polarity::Neutral => "neutral",
        }
    }
}

/// One aspect mentioned in one clause of a review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AspectMention {
    pub aspect: Aspect,
    /// The word that names the aspect.
    pub term: String,
    pub polarity: Polarity,
    /// The sentiment model's calibrated probability that the clause is
    /// positive; `None` when the polarity came from the lexicon.
    pub score: Option<f64>,
    /// The clause, NFKC-normalised.
    pub clause: String,
}

/// A clause that mentions at least one aspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AspectClause {
    pub text: String,
    /// Each aspect once, with the first term that named it.
    pub aspects: Vec<(Aspect, String)>,
    /// The sum of the clause's opinion words, each +1 or −1, turned by a
    /// negator before it.
    pub lexicon_score: i32,
}

/// What a review says about aspects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewAspects {
    pub language: Language,
    /// The clauses that mention an aspect, in order.
    pub clauses: Vec<AspectClause>,
}

struct Lexicons {
    chinese_terms: HashMap<&'static str, Aspect>,
    english_terms: HashMap<&'static str, Aspect>,
    chinese_opinions: HashMap<&'static str, i32>,
    english_opinions: HashMap<&'static str, i32>,
}

fn lexicons() -> &'static Lexicons {
    static LEXICONS: OnceLock<Lexicons> = OnceLock::new();
    LEXICONS.get_or_init(|| {
        let mut chinese_terms = HashMap::new();
        let mut english_terms = HashMap::new();
        for &(aspect, chinese, english) in ASPECT_TERMS {
            for term in chinese {
                chinese_terms.entry(*term).or_insert(aspect);
            }
            for term in english {
                english_terms.entry(*term).or_insert(aspect);
            }
        }
        Lexicons {
            chinese_terms,
            english_terms,
            chinese_opinions: CHINESE_OPINIONS.iter().copied().collect(),
            english_opinions: ENGLISH_OPINIONS.iter().copied().collect(),
        }
    })
}

/// Every Chinese term and opinion word, for jieba's dictionary.
pub(crate) fn chinese_lexicon_words() -> Vec<&'static str> {
    ASPECT_TERMS
        .iter()
        .flat_map(|(_, chinese, _)| chinese.iter().copied())
        .chain(CHINESE_OPINIONS.iter().map(|(word, _)| *word))
        .collect()
}

/// The aspect seed terms, Chinese and English, per aspect (for documentation
/// and reports).
pub fn seed_terms(aspect: Aspect) -> (&'static [&'static str], &'static [&'static str]) {
    ASPECT_TERMS
        .iter()
        .find(|(a, _, _)| *a == aspect)
        .map_or((&[], &[]), |(_, chinese, english)| (*chinese, *english))
}

/// The polarity of one Chinese word and whether a negator is glued to its
/// front: the word itself, or the word with degree adverbs and negators
/// before it and particles after it taken off ("很快" → 快, "不好" → 好
/// negated, "破了" → 破).
fn chinese_opinion(word: &str) -> Option<(i32, bool)> {
    let opinions = &lexicons().chinese_opinions;
    if let Some(&polarity) = opinions.get(word) {
        return Some((polarity, false));
    }
    let mut core = word;
    let mut negated = false;
    'strip: loop {
        for prefix in CHINESE_PREFIXES {
            if let Some(rest) = core.strip_prefix(prefix)
                && !rest.is_empty()
            {
                negated ^= matches!(*prefix, "不" | "没" | "无" | "未");
                core = rest;
                if let Some(&polarity) = opinions.get(core) {
                    return Some((polarity, negated));
                }
                continue 'strip;
            }
        }
        break;
    }
    for suffix in CHINESE_SUFFIXES {
        if let Some(rest) = core.strip_suffix(suffix)
            && let Some(&polarity) = opinions.get(rest)
        {
            return Some((polarity, negated));
        }
    }
    None
}

fn is_english_negator(word: &str) -> bool {
    ENGLISH_NEGATORS.contains(&word)
        || word.ends_with("n't")
        || matches!(
            word,
            "dont" | "didnt" | "doesnt" | "isnt" | "wasnt" | "cant" | "wont" | "arent"
        )
}

/// The lexicon polarity of a clause: the sum of its opinion words, each turned
/// by an odd number of negators among the [`NEGATION_WINDOW`] words before it.
fn lexicon_score(words: &[Word]) -> i32 {
    let lexicons = lexicons();
    let mut score = 0;
    for (index, word) in words.iter().enumerate() {
        let (polarity, glued_negation) = if word.han {
            // A word that names an aspect is not an opinion, even if an
            // opinion word hides inside it (快 in 快递).
            if lexicons.chinese_terms.contains_key(word.text.as_str())
                && !lexicons.chinese_opinions.contains_key(word.text.as_str())
            {
                continue;
            }
            match chinese_opinion(&word.text) {
                Some(found) => found,
                None => continue,
            }
        } else {
            match lexicons.english_opinions.get(word.text.as_str()) {
                Some(&polarity) => (polarity, false),
                None => continue,
            }
        };
        let before = &words[index.saturating_sub(NEGATION_WINDOW)..index];
        let negators = before
            .iter()
            .filter(|w| {
                if w.han {
                    CHINESE_NEGATORS.contains(&w.text.as_str())
                } else {
                    is_english_negator(&w.text)
                }
            })
            .count();
        let negated = glued_negation ^ (negators % 2 == 1);
        score += if negated { -polarity } else { polarity };
    }
    score
}

/// The aspects a clause names, each once, in order of first mention.
fn clause_aspects(words: &[Word]) -> Vec<(Aspect, String)> {
    let lexicons = lexicons();
    let mut found: Vec<(Aspect, String)> = Vec::new();
    let mut push = |aspect: Aspect, term: &str| {
        if !found.iter().any(|(a, _)| *a == aspect) {
            found.push((aspect, term.to_owned()));
        }
    };
    let mut index = 0;
    while index < words.len() {
        let word = &words[index];
        if word.han {
            if let Some(&aspect) = lexicons.chinese_terms.get(word.text.as_str()) {
                push(aspect, &word.text);
            }
        } else {
            // A two-word phrase ("customer service") before its first word.
            if let Some(next) = words.get(index + 1).filter(|next| !next.han) {
                let phrase = format!("{} {}", word.text, next.text);
                if let Some(&aspect) = lexicons.english_terms.get(phrase.as_str()) {
                    push(aspect, &phrase);
                    index += 2;
                    continue;
                }
            }
            if let Some(&aspect) = lexicons.english_terms.get(word.text.as_str()) {
                push(aspect, &word.text);
            }
        }
        index += 1;
    }
    found
}

/// Multi-character Chinese aspect terms, longest first.
fn compound_parts() -> &'static [&'static str] {
    static PARTS: OnceLock<Vec<&'static str>> = OnceLock::new();
    PARTS.get_or_init(|| {
        let mut parts: Vec<&str> =
            lexicons().chinese_terms.keys().copied().filter(|t| t.chars().count() > 1).collect();
        parts.sort_by_key(|t| (std::cmp::Reverse(t.len()), *t));
        parts
    })
}

/// Cuts Chinese words that jieba's dictionary keeps whole although they hold
/// an aspect term ("价格便宜" → "价格" + "便宜"), so that the term and the
/// opinion beside it are both seen.
fn split_compounds(words: Vec<Word>) -> Vec<Word> {
    let lexicons = lexicons();
    let mut out = Vec::with_capacity(words.len());
    for word in words {
        let known = lexicons.chinese_terms.contains_key(word.text.as_str())
            || lexicons.chinese_opinions.contains_key(word.text.as_str());
        let found =
            compound_parts().iter().find_map(|part| word.text.find(part).map(|at| (at, *part)));
        match found {
            Some((at, part)) if word.han && !known => {
                let pieces = [(0, at), (at, at + part.len()), (at + part.len(), word.text.len())];
                for (start, end) in pieces {
                    if start < end {
                        let piece = Word {
                            text: word.text[start..end].to_owned(),
                            han: true,
                            range: word.range.start + start..word.range.start + end,
                        };
                        // The rest may hold another term.
                        out.extend(split_compounds(vec![piece]));
                    }
                }
            }
            _ => out.push(word),
        }
    }
    out
}

/// Finds the aspect mentions of one review.
pub fn analyze(text: &str) -> ReviewAspects {
    let clauses = clauses(text)
        .into_iter()
        .filter_map(|Clause { text, words }| {
            let words = split_compounds(words);
            let aspects = clause_aspects(&words);
            (!aspects.is_empty()).then(|| AspectClause {
                text,
                aspects,
                lexicon_score: lexicon_score(&words),
            })
        })
        .collect();
    ReviewAspects { language: language(text), clauses }
}

impl ReviewAspects {
    /// The clause texts, in order: what a sentiment model scores for
    /// [`ReviewAspects::mentions_with_scores`].
    pub fn clause_texts(&self) -> impl Iterator<Item = &str> {
        self.clauses.iter().map(|clause| clause.text.as_str())
    }

    /// Mentions with the lexicon's polarity: positive above 0, negative below.
    pub fn mentions_by_lexicon(&self) -> Vec<AspectMention> {
        self.mentions(|clause, _| {
            let polarity = match clause.lexicon_score {
                s if s > 0 => Polarity::Positive,
                s if s < 0 => Polarity::Negative,
                _ => Polarity::Neutral,
            };
            (polarity, None)
        })
    }

    /// Mentions with a sentiment model's probability per clause (one score per
    /// clause, in order): positive at 0.5 or above, else negative.
    pub fn mentions_with_scores(&self, clause_scores: &[f64]) -> Vec<AspectMention> {
        self.mentions(|_, index| {
            let score = clause_scores[index];
            let polarity = if score >= 0.5 { Polarity::Positive } else { Polarity::Negative };
            (polarity, Some(score))
        })
    }

    fn mentions(
        &self,
        polarity_of: impl Fn(&AspectClause, usize) -> (Polarity, Option<f64>),
    ) -> Vec<AspectMention> {
        let mut mentions = Vec::new();
        for (index, clause) in self.clauses.iter().enumerate() {
            let (polarity, score) = polarity_of(clause, index);
            for (aspect, term) in &clause.aspects {
                mentions.push(AspectMention {
                    aspect: *aspect,
                    term: term.clone(),
                    polarity,
                    score,
                    clause: clause.text.clone(),
                });
            }
        }
        mentions
    }
}

/// The aspects of `mentions` with the given polarity, each once, in
/// [`Aspect::ALL`] order: [`Polarity::Negative`] gives a review's complaints.
pub fn aspects_with(mentions: &[AspectMention], polarity: Polarity) -> Vec<Aspect> {
    let mut aspects: Vec<Aspect> =
        mentions.iter().filter(|m| m.polarity == polarity).map(|m| m.aspect).collect();
    aspects.sort();
    aspects.dedup();
    aspects
}

/// Mentions per aspect over many reviews.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AspectSummary {
    pub aspect: Aspect,
    pub mentions: usize,
    /// Reviews with at least one mention.
    pub reviews: usize,
    pub positive: usize,
    pub negative: usize,
    pub neutral: usize,
    /// Negative mentions over all mentions; `None` without mentions.
    pub negative_share: Option<f64>,
}

/// One summary per aspect, in [`Aspect::ALL`] order (aspects without
/// mentions included, with zero counts).
pub fn summarize(reviews: &[Vec<AspectMention>]) -> Vec<AspectSummary> {
    let mut by_aspect: BTreeMap<Aspect, AspectSummary> = Aspect::ALL
        .iter()
        .map(|&aspect| {
            (
                aspect,
                AspectSummary {
                    aspect,
                    mentions: 0,
                    reviews: 0,
                    positive: 0,
                    negative: 0,
                    neutral: 0,
                    negative_share: None,
                },
            )
        })
        .collect();
    for mentions in reviews {
        let mut seen: Vec<Aspect> = Vec::new();
        for mention in mentions {
            let summary = by_aspect.get_mut(&mention.aspect).expect("every aspect is in ALL");
            summary.mentions += 1;
            match mention.polarity {
                Polarity::Positive => summary.positive += 1,
                Polarity::Negative => summary.negative += 1,
                Polarity::Neutral => summary.neutral += 1,
            }
            if !seen.contains(&mention.aspect) {
                seen.push(mention.aspect);
                summary.reviews += 1;
            }
        }
    }
    by_aspect
        .into_values()
        .map(|mut summary| {
            summary.negative_share =
                (summary.mentions > 0).then(|| summary.negative as f64 / summary.mentions as f64);
            summary
        })
        .collect()
}
