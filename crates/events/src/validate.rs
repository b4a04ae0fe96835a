use std::fmt;

use crate::{Event, EventType};

/// Why an event breaks the model's rules. Each carries the field it is about.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidationError {
    /// A field this event type requires is missing or empty.
    Missing { field: &'static str },
    /// A number is out of its allowed range (negative price, zero quantity, …).
    OutOfRange { field: &'static str, value: String },
}

impl ValidationError {
    pub fn field(&self) -> &'static str {
        match self {
            ValidationError::Missing { field } | ValidationError::OutOfRange { field, .. } => field,
        }
    }

    /// A short stable reason code for summaries and the quarantine file.
    pub fn reason_code(&self) -> String {
        match self {
            ValidationError::Missing { field } => format!("missing_{field}"),
            ValidationError::OutOfRange { field, .. } => format!("out_of_range_{field}"),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationError::Missing { field } => write!(f, "missing required field {field}"),
            ValidationError::OutOfRange { field, value } => {
                write!(f, "field {field} out of range: {value}")
            }
        }
    }
}

impl std::error::Error for ValidationError {}

/// The per-type rules of `docs/events.md`:
///
/// * every event needs a user id;
/// * `view`, `add_to_cart` and `remove_from_cart` need an item;
/// * `purchase` and `refund` need an item and a price;
/// * `search` needs a query; `review` needs an item and a text or a rating;
/// * prices are finite and not negative, quantities positive, ratings in 0..=10.
pub fn validate(event: &Event) -> Result<(), ValidationError> {
    validate_with(event, &Rules::default())
}

/// Switches for sources that lack a field by design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Purchases and refunds need a price. Taobao and RetailRocket publish no
    /// prices at all, so their importers turn this off rather than reject
    /// every purchase.
    pub purchase_needs_price: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { purchase_needs_price: true }
    }
}

/// [`validate`] with some rules relaxed.
pub fn validate_with(event: &Event, rules: &Rules) -> Result<(), ValidationError> {
    let present = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    if event.user_id.trim().is_empty() {
        return Err(ValidationError::Missing { field: "user_id" });
    }
    let needs_item = matches!(
        event.event_type,
        EventType::View
            | EventType::AddToCart
            | EventType::RemoveFromCart
            | EventType::Purchase
            | EventType::Refund
            | EventType::Review
    );
    if needs_item && !present(&event.item_id) {
        return Err(ValidationError::Missing { field: "item_id" });
    }
    match event.event_type {
        EventType::Purchase | EventType::Refund
            if rules.purchase_needs_price && event.price.is_none() =>
        {
            return Err(ValidationError::Missing { field: "price" });
        }
        EventType::Search if !present(&event.search_query) => {
            return Err(ValidationError::Missing { field: "search_query" });
        }
        EventType::Review if !present(&event.review_text) && event.rating.is_none() => {
            return Err(ValidationError::Missing { field: "review_text" });
        }
        _ => {}
    }
    if let Some(price) = event.price
        && (!price.is_finite() || price < 0.0)
    {
        return Err(ValidationError::OutOfRange { field: "price", value: price.to_string() });
    }
    if let Some(quantity) = event.quantity
        && quantity <= 0
    {
        return Err(ValidationError::OutOfRange { field: "quantity", value: quantity.to_string() });
    }
    if let Some(rating) = event.rating
        && !(0.0..=10.0).contains(&rating)
    {
        return Err(ValidationError::OutOfRange { field: "rating", value: rating.to_string() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(event: Event, expect: Result<(), &str>) {
        let got = validate(&event).map_err(|e| e.reason_code());
        assert_eq!(got, expect.map_err(str::to_string), "{event:?}");
    }

    fn event(kind: EventType) -> Event {
        Event { user_id: "u".into(), event_type: kind, ..Event::default() }
    }

    #[test]
    fn rules_per_type() {
        check(event(EventType::View), Err("missing_item_id"));
        check(Event { item_id: Some("i".into()), ..event(EventType::View) }, Ok(()));
        check(
            Event { item_id: Some("i".into()), ..event(EventType::Purchase) },
            Err("missing_price"),
        );
        check(
            Event { item_id: Some("i".into()), price: Some(1.0), ..event(EventType::Purchase) },
            Ok(()),
        );
        check(event(EventType::Search), Err("missing_search_query"));
        check(Event { search_query: Some("shoes".into()), ..event(EventType::Search) }, Ok(()));
        check(
            Event { item_id: Some("i".into()), ..event(EventType::Review) },
            Err("missing_review_text"),
        );
        check(Event { user_id: " ".into(), ..event(EventType::Checkout) }, Err("missing_user_id"));
        check(event(EventType::Checkout), Ok(()));
        check(event(EventType::Custom("share".into())), Ok(()));
    }

    #[test]
    fn ranges() {
        let item = |e: Event| Event { item_id: Some("i".into()), ..e };
        check(
            item(Event { price: Some(-1.0), ..event(EventType::View) }),
            Err("out_of_range_price"),
        );
        check(
            item(Event { price: Some(f64::NAN), ..event(EventType::View) }),
            Err("out_of_range_price"),
        );
        check(
            item(Event { quantity: Some(0), ..event(EventType::View) }),
            Err("out_of_range_quantity"),
        );
        check(
            item(Event { rating: Some(11.0), ..event(EventType::Review) }),
            Err("out_of_range_rating"),
        );
    }
}
