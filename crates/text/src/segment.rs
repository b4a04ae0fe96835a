//! Words and clauses of review text, Chinese and English alike.
//!
//! Text is NFKC-normalised first, so full-width punctuation and letters
//! become their ASCII forms and one set of rules covers both scripts. Runs of
//! Han characters are cut into words by jieba (Chinese has no spaces); runs of
//! letters and digits are words as they stand, lowercased, with inner
//! apostrophes kept so that "don't" stays one word.
//!
//! A clause ends at sentence or clause punctuation, and a contrast marker
//! ("但是", "不过", "but", "however", …) starts a new one: "物流很快，但是包装破了"
//! says two things about two aspects, and each clause gets its own polarity.

use std::ops::Range;
use std::sync::OnceLock;

use jieba_rs::Jieba;
use serde::Serialize;
use unicode_normalization_alignments::UnicodeNormalization;

/// The script a text is mostly written in, which picks the lexicons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Language {
    /// Han characters make up at least a third of the letters.
    Chinese,
    /// Mostly Latin letters: the English lexicons apply.
    English,
    /// Neither (digits, emoji, other scripts, empty).
    Other,
}

impl Language {
    /// `zh`, `en` or `other`.
    pub fn code(self) -> &'static str {
        match self {
            Language::Chinese => "zh",
            Language::English => "en",
            Language::Other => "other",
        }
    }
}

/// One word of a text: its lowercased form and where it stands in the
/// normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    /// Han characters (segmented by jieba) rather than Latin letters or digits.
    pub han: bool,
    /// Byte range in [`normalize`]'s output.
    pub range: Range<usize>,
}

/// A clause: its text (normalised) and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub text: String,
    pub words: Vec<Word>,
}

/// NFKC, typographic apostrophes as `'`, and every kind of whitespace as a
/// plain space.
pub fn normalize(text: &str) -> String {
    text.nfkc()
        .map(|(c, _)| match c {
            '\u{2018}' | '\u{2019}' | '`' => '\'',
            '\u{feff}' => ' ',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect()
}

/// CJK unified ideographs and their extensions A and B, and the
/// compatibility block.
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF)
}

/// The language of a text by its letters: Chinese when Han characters are at
/// least a third of them (Chinese reviews often carry a brand or model name in
/// Latin letters), English when there are Latin letters, else other.
pub fn language(text: &str) -> Language {
    let (mut han, mut latin) = (0usize, 0usize);
    for c in text.chars() {
        if is_han(c) {
            han += 1;
        } else if c.is_ascii_alphabetic() || (c.is_alphabetic() && (c as u32) < 0x250) {
            latin += 1;
        }
    }
    if han > 0 && han * 3 >= han + latin {
        Language::Chinese
    } else if latin > 0 {
        Language::English
    } else {
        Language::Other
    }
}

/// jieba with its default dictionary, plus the aspect terms and opinion words
/// of [`crate::aspects`], so that they are kept whole where the dictionary
/// would split them.
fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(|| {
        let mut jieba = Jieba::new();
        for word in crate::aspects::chinese_lexicon_words() {
            if word.chars().count() > 1 && !jieba.has_word(word) {
                jieba.add_word(word, None, None);
            }
        }
        jieba
    })
}

/// The words of `normalized` (the output of [`normalize`]), in order.
pub fn words(normalized: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut chars = normalized.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if is_han(c) {
            let mut end = start;
            while let Some(&(at, c)) = chars.peek() {
                if !is_han(c) {
                    break;
                }
                end = at + c.len_utf8();
                chars.next();
            }
            for token in jieba().cut(&normalized[start..end], true) {
                let range = start + token.byte_start..start + token.byte_end;
                words.push(Word { text: token.word.to_owned(), han: true, range });
            }
        } else if c.is_alphanumeric() {
            let mut end = start;
            while let Some(&(at, c)) = chars.peek() {
                // An apostrophe between two letters belongs to the word.
                let inner_apostrophe = c == '\''
                    && normalized[at + 1..].chars().next().is_some_and(char::is_alphanumeric);
                let word_char = c.is_alphanumeric() && !is_han(c);
                if !(word_char || inner_apostrophe) {
                    break;
                }
                end = at + c.len_utf8();
                chars.next();
            }
            let text = normalized[start..end].to_lowercase();
            words.push(Word { text, han: false, range: start..end });
        } else {
            chars.next();
        }
    }
    words
}

/// Characters that end a clause. The enumeration comma `、` is not one: "质量、
/// 价格都不错" says one thing about two aspects.
fn ends_clause(c: char) -> bool {
    matches!(c, ',' | '.' | '!' | '?' | ';' | ':' | '。' | '…' | '~' | '～' | '(' | ')' | '|')
}

/// Words that start a new clause: a contrast turns the polarity.
const CONTRAST_MARKERS: &[&str] = &[
    "但是", "但", "可是", "不过", "然而", "只是", "却", "but", "however", "although", "though",
    "yet", "except", "whereas",
];

/// The clauses of a text, each with its words; clauses without words are
/// dropped.
pub fn clauses(text: &str) -> Vec<Clause> {
    let normalized = normalize(text);
    let mut clauses = Vec::new();
    let mut piece_start = 0;
    let mut pieces = Vec::new();
    for (at, c) in normalized.char_indices() {
        if ends_clause(c) {
            pieces.push(piece_start..at);
            piece_start = at + c.len_utf8();
        }
    }
    pieces.push(piece_start..normalized.len());
    for piece in pieces {
        let piece_words: Vec<Word> = words(&normalized[piece.clone()])
            .into_iter()
            .map(|word| Word {
                range: word.range.start + piece.start..word.range.end + piece.start,
                ..word
            })
            .collect();
        let mut current: Vec<Word> = Vec::new();
        for word in piece_words {
            if !current.is_empty() && CONTRAST_MARKERS.contains(&word.text.as_str()) {
                clauses.push(clause_of(&normalized, std::mem::take(&mut current)));
            }
            current.push(word);
        }
        if !current.is_empty() {
            clauses.push(clause_of(&normalized, current));
        }
    }
    clauses
}

fn clause_of(normalized: &str, words: Vec<Word>) -> Clause {
    let start = words.first().map_or(0, |w| w.range.start);
    let end = words.last().map_or(0, |w| w.range.end);
    Clause { text: normalized[start..end].to_owned(), words }
}

/// Words that say little about what a text is about, for topic keywords.
const CHINESE_STOP_WORDS: &[&str] = &[
    "一个", "我们", "没有", "就是", "还是", "这个", "那个", "不是", "可以", "什么", "因为", "所以",
    "但是", "而且", "如果", "已经", "自己", "觉得", "感觉", "非常", "比较", "真的", "还有", "一下",
    "一点", "这样", "时候", "现在", "东西", "然后", "知道", "他们", "你们", "这么", "那么", "怎么",
    "虽然", "不过", "以后", "以前", "一样", "一直", "之后", "出来", "一次", "这次", "直接", "应该",
    "有点", "一些", "这些", "那些", "特别", "十分", "确实", "其实", "只是", "不会", "不能", "可能",
    "能够", "的话", "的", "了", "是", "我", "也", "很", "都", "就", "在", "和", "有", "不", "还",
    "太", "又", "说", "啊", "吧", "呢", "吗", "给", "让", "用", "到", "个", "被", "把", "对", "买",
    "买的", "比", "会", "要", "没", "好", "才", "再", "等", "与", "及", "这", "那", "它", "他",
    "她", "你", "着", "过", "去", "来", "上", "下", "中", "里", "后", "前", "更", "最", "挺", "蛮",
    "哦", "呀", "啦", "嘛", "么", "而", "但", "却", "又", "一", "两", "几",
];

const ENGLISH_STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "even",
    "ever",
    "every",
    "few",
    "for",
    "from",
    "get",
    "got",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "i",
    "i'm",
    "i've",
    "if",
    "in",
    "into",
    "is",
    "it",
    "it's",
    "its",
    "just",
    "me",
    "more",
    "most",
    "much",
    "my",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "own",
    "really",
    "same",
    "she",
    "should",
    "so",
    "some",
    "still",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "us",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "go",
    "went",
    "going",
    "make",
    "made",
    "well",
    "thing",
    "things",
    "would",
    "will",
    "am",
    "been",
    "anyone",
    "everything",
    "something",
];

/// The words of a text that can describe a topic: Chinese words of two or
/// more characters and English words of three or more letters, stop words and
/// numbers left out.
pub fn keyword_words(text: &str) -> Vec<String> {
    words(&normalize(text))
        .into_iter()
        .filter(|word| {
            let text = word.text.as_str();
            if word.han {
                text.chars().count() >= 2 && !CHINESE_STOP_WORDS.contains(&text)
            } else {
                text.chars().count() >= 3
                    && text.chars().any(char::is_alphabetic)
                    && !ENGLISH_STOP_WORDS.contains(&text)
            }
        })
        .map(|word| word.text)
        .collect()
}
