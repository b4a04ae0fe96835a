//! Aspect mentions and their lexicon polarity on real review lines
//! (online_shopping_10_cats and the UCI sentences; the first case is the
//! example of the issue), each expectation checked by hand.

use text::aspects::{Aspect, Polarity, analyze, summarize};

/// The (aspect, polarity) of each mention, in order.
fn check(review: &str, expected: &[(Aspect, Polarity)]) {
    let mentions = analyze(review).mentions_by_lexicon();
    let got: Vec<(Aspect, Polarity)> = mentions.iter().map(|m| (m.aspect, m.polarity)).collect();
    assert_eq!(got, expected, "{review:?}: {mentions:#?}");
}

#[test]
fn aspects_and_lexicon_polarity_on_real_reviews() {
    use Aspect::*;
    use Polarity::*;
    check("物流很快，但是包装破了", &[(Delivery, Positive), (Packaging, Negative)]);
    check(
        "质量不错，物流还挺快的，卖家服务态度也很好，尺码也很标准，总体来说很不错。",
        &[(Quality, Positive), (Delivery, Positive), (Service, Positive), (SizeFit, Neutral)],
    );
    check("东西不好。京东越来越不好了。快递员给力。", &[(Delivery, Positive)]);
    check("发货慢，订单还取消不了，差评。", &[(Delivery, Negative)]);
    check(
        "苹果?外观很漂亮，个大，包装完好。京东快递就是神速呀！",
        &[(Appearance, Positive), (Packaging, Positive), (Delivery, Positive)],
    );
    check("个头细，味道酸、是性价比极差的商品。", &[(Price, Negative)]);
    check("什么破平台，618那么大的节日竟然价格买的比平时贵", &[(Price, Negative)]);
    check(
        "衣服质量不错，客服推荐的号合适，哥哥穿上很帅！",
        &[(Quality, Positive), (Service, Positive)],
    );
    check(
        "价格便宜送货快，质量挺好的",
        &[(Price, Positive), (Delivery, Positive), (Quality, Positive)],
    );
    check("This is a good battery, and it got here really fast.", &[(Performance, Positive)]);
    check("Great product, fast shipping!.", &[(Delivery, Positive)]);
    check("Not good enough for the price.", &[(Price, Negative)]);
    check("poor quality and service.", &[(Quality, Negative), (Service, Negative)]);
    check("Worst Customer Service Ever.", &[(Service, Negative)]);
    check("For the price this was a great deal.", &[(Price, Positive)]);
    check("The battery is completely useless to me.", &[(Performance, Negative)]);
    check(
        "It's fits like a glove and is strong, secure, and durable.",
        &[(SizeFit, Neutral), (Quality, Positive)],
    );
    // Negation: a negator before the opinion word turns it, 不错 is one word.
    check("包装没有破损", &[(Packaging, Positive)]);
    check("快递不是很快", &[(Delivery, Negative)]);
    check("The delivery was not fast at all", &[(Delivery, Negative)]);
    check("客服态度不错", &[(Service, Positive)]);
    check("没有提到任何方面", &[]);
}

#[test]
fn mentions_take_the_model_score_of_their_clause() {
    let review = analyze("物流很快，但是包装破了");
    let clauses: Vec<&str> = review.clause_texts().collect();
    assert_eq!(clauses, ["物流很快", "但是包装破了"]);
    let mentions = review.mentions_with_scores(&[0.9, 0.2]);
    assert_eq!(
        mentions.iter().map(|m| (m.aspect, m.polarity, m.score)).collect::<Vec<_>>(),
        [
            (Aspect::Delivery, Polarity::Positive, Some(0.9)),
            (Aspect::Packaging, Polarity::Negative, Some(0.2))
        ]
    );
    assert_eq!(mentions[1].clause, "但是包装破了");
    assert_eq!(mentions[1].term, "包装");
}

#[test]
fn summaries_count_mentions_reviews_and_negative_shares() {
    let reviews: Vec<_> = ["物流很快，但是包装破了", "包装很差，包装盒也压坏了", "快递太慢"]
        .iter()
        .map(|r| analyze(r).mentions_by_lexicon())
        .collect();
    let summary = summarize(&reviews);
    assert_eq!(summary.len(), Aspect::ALL.len());
    let packaging = summary.iter().find(|s| s.aspect == Aspect::Packaging).unwrap();
    assert_eq!((packaging.mentions, packaging.reviews, packaging.negative), (3, 2, 3));
    assert_eq!(packaging.negative_share, Some(1.0));
    let delivery = summary.iter().find(|s| s.aspect == Aspect::Delivery).unwrap();
    assert_eq!((delivery.mentions, delivery.positive, delivery.negative), (2, 1, 1));
    assert_eq!(delivery.negative_share, Some(0.5));
    let price = summary.iter().find(|s| s.aspect == Aspect::Price).unwrap();
    assert_eq!((price.mentions, price.negative_share), (0, None));
}

#[test]
fn words_clauses_and_languages() {
    use text::Language;
    use text::segment::{clauses, keyword_words, language};
    assert_eq!(language("物流很快，但是包装破了"), Language::Chinese);
    assert_eq!(language("iPhone 15 很好用"), Language::Chinese);
    assert_eq!(language("Great price, too!"), Language::English);
    assert_eq!(language("12345 ?!"), Language::Other);
    let texts: Vec<String> =
        clauses("Works great, but the battery doesn't last.").into_iter().map(|c| c.text).collect();
    assert_eq!(texts, ["Works great", "but the battery doesn't last"]);
    // Full-width punctuation splits like ASCII; words are lowercased.
    let texts: Vec<String> = clauses("ＧＯＯＤ！价格实惠").into_iter().map(|c| c.text).collect();
    assert_eq!(texts, ["GOOD", "价格实惠"]);
    assert_eq!(
        keyword_words("The hotel room was clean and the staff friendly"),
        ["hotel", "room", "clean", "staff", "friendly"]
    );
    assert_eq!(keyword_words("酒店的房间很干净"), ["酒店", "房间", "干净"]);
}
