use std::fmt;
use std::str::FromStr;

/// What the shopper did. The canonical names (`as_str`) are what the lake's
/// `event_type` column holds; sources' own names are mapped by [`FromStr`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum EventType {
    /// A page or product view.
    #[default]
    View,
    Search,
    AddToCart,
    RemoveFromCart,
    Checkout,
    Purchase,
    Refund,
    Review,
    /// Any other name, lower-cased (`favorite`, `share`, `signup`, …).
    Custom(String),
}

impl EventType {
    /// The built-in types, in funnel order.
    pub const BUILT_IN: [EventType; 8] = [
        EventType::View,
        EventType::Search,
        EventType::AddToCart,
        EventType::RemoveFromCart,
        EventType::Checkout,
        EventType::Purchase,
        EventType::Refund,
        EventType::Review,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            EventType::View => "view",
            EventType::Search => "search",
            EventType::AddToCart => "add_to_cart",
            EventType::RemoveFromCart => "remove_from_cart",
            EventType::Checkout => "checkout",
            EventType::Purchase => "purchase",
            EventType::Refund => "refund",
            EventType::Review => "review",
            EventType::Custom(name) => name,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is empty or has characters other than letters, digits, `_`, `-`,
/// `.` and `:` after trimming and lower-casing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEventType(pub String);

impl fmt::Display for InvalidEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid event type {:?}", self.0)
    }
}

impl std::error::Error for InvalidEventType {}

impl FromStr for EventType {
    type Err = InvalidEventType;

    /// Maps the common spellings of the shop platforms (REES46 `cart`, Taobao
    /// `pv`/`buy`, RetailRocket `addtocart`/`transaction`, GA4 `add_to_cart`,
    /// …) onto the canonical types; anything else valid is a custom type.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let name = raw.trim().to_ascii_lowercase();
        let known = match name.as_str() {
            "view" | "pv" | "page_view" | "pageview" | "product_view" | "view_item" | "click"
            | "detail" => EventType::View,
            "search" | "view_search_results" => EventType::Search,
            "add_to_cart" | "cart" | "addtocart" | "add-to-cart" | "add" => EventType::AddToCart,
            "remove_from_cart" | "removefromcart" | "remove" => EventType::RemoveFromCart,
            "checkout" | "begin_checkout" => EventType::Checkout,
            "purchase" | "buy" | "transaction" | "order" => EventType::Purchase,
            "refund" | "return" | "cancel" | "cancellation" => EventType::Refund,
            "review" => EventType::Review,
            _ => {
                let valid = !name.is_empty()
                    && name.len() <= 64
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
                if !valid {
                    return Err(InvalidEventType(raw.to_string()));
                }
                EventType::Custom(name)
            }
        };
        Ok(known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_spellings_map_to_canonical_names() {
        let check = |raw: &str, expect: &str| {
            assert_eq!(raw.parse::<EventType>().unwrap().as_str(), expect, "{raw}");
        };
        check("view", "view");
        check("pv", "view");
        check("cart", "add_to_cart");
        check("addtocart", "add_to_cart");
        check(" Transaction ", "purchase");
        check("buy", "purchase");
        check("fav", "fav");
        check("Wishlist_Add", "wishlist_add");
    }

    #[test]
    fn garbage_is_rejected() {
        for raw in ["", "  ", "two words", "a\u{0}b", "<script>"] {
            assert!(raw.parse::<EventType>().is_err(), "{raw:?}");
        }
    }

    #[test]
    fn canonical_names_round_trip() {
        for kind in EventType::BUILT_IN {
            assert_eq!(kind.as_str().parse::<EventType>().unwrap(), kind);
        }
    }
}
