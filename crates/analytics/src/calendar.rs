//! Calendar periods and event selectors shared by the cohort, lifecycle and path
//! analyses.
//!
//! Periods are UTC calendar periods: a day starts at 00:00 UTC, a week on Monday
//! 00:00 UTC (ISO 8601), a month on the 1st at 00:00 UTC. The SQL side truncates
//! with DataFusion's `date_trunc`, which follows the same rules on the lake's
//! `Timestamp(µs, "UTC")` column; the Rust side below must agree with it.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::AnalyticsError;

/// The length of one cohort or lifecycle period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    /// Monday to Sunday.
    #[default]
    Week,
    /// A calendar month.
    Month,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// The SQL expression for the start of the period holding `event_time`, a UTC
    /// timestamp like `event_time`. `date_trunc` of a zoned timestamp converts each
    /// value through the zone database (2.3–2.5 s for 10M events); truncating the bare
    /// UTC value is arithmetic (0.4–0.6 s), and the zone, UTC, is put back after.
    pub(crate) fn truncate_sql(self) -> String {
        format!(
            "arrow_cast(date_trunc('{period}', arrow_cast({time}, 'Timestamp(Microsecond, None)')), \
             'Timestamp(Microsecond, Some(\"UTC\"))')",
            period = self.as_str(),
            time = events::column::EVENT_TIME
        )
    }

    /// A SQL interval literal of one period, to step between period starts.
    pub(crate) fn interval_sql(self) -> &'static str {
        match self {
            Period::Day => "INTERVAL '1 day'",
            Period::Week => "INTERVAL '7 days'",
            Period::Month => "INTERVAL '1 month'",
        }
    }

    /// The first day of the period that holds `date`.
    pub fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => date,
            Period::Week => date - Days::new(u64::from(date.weekday().num_days_from_monday())),
            Period::Month => date.with_day(1).expect("every month has a 1st"),
        }
    }

    /// The start of the period after the one starting at `start`.
    pub fn next_start(self, start: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => start + Days::new(1),
            Period::Week => start + Days::new(7),
            Period::Month => start + Months::new(1),
        }
    }

    /// How many whole periods lie between the periods holding `from` and `to`
    /// (negative when `to` is earlier); 0 when both are in the same period.
    pub fn periods_between(self, from: NaiveDate, to: NaiveDate) -> i64 {
        let (from, to) = (self.start_of(from), self.start_of(to));
        match self {
            Period::Day => (to - from).num_days(),
            Period::Week => (to - from).num_days() / 7,
            Period::Month => {
                let months = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
                months(to) - months(from)
            }
        }
    }

    /// Every period start from the period holding `first` to the one holding
    /// `last`, inclusive, with no gaps.
    pub fn starts_between(self, first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
        let last = self.start_of(last);
        let mut starts = Vec::new();
        let mut start = self.start_of(first);
        while start <= last {
            starts.push(start);
            start = self.next_start(start);
        }
        starts
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Period {
    type Err = AnalyticsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" => Ok(Period::Day),
            "week" | "weekly" => Ok(Period::Week),
            "month" | "monthly" => Ok(Period::Month),
            other => Err(AnalyticsError::InvalidArgument(format!(
                "unknown period {other:?}: expected day, week or month"
            ))),
        }
    }
}

/// Which events an analysis step matches: any event, or one event type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum EventSelector {
    /// Every event counts (written `any`).
    #[default]
    Any,
    /// Events of this canonical type (`purchase`, `view`, or a custom name).
    Type(String),
}

impl EventSelector {
    pub fn event_type(name: impl Into<String>) -> EventSelector {
        EventSelector::Type(name.into())
    }

    /// A SQL condition on the `events` table that holds for the selected events.
    pub(crate) fn condition_sql(&self) -> String {
        match self {
            EventSelector::Any => "TRUE".to_string(),
            EventSelector::Type(name) => {
                format!("{} = {}", events::column::EVENT_TYPE, quote_literal(name))
            }
        }
    }
}

impl fmt::Display for EventSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventSelector::Any => f.write_str("any"),
            EventSelector::Type(name) => f.write_str(name),
        }
    }
}

impl FromStr for EventSelector {
    type Err = AnalyticsError;

    /// `any` (or `*`) selects every event; anything else is an event type,
    /// mapped onto the canonical names the way the importers map them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("any") || trimmed == "*" {
            return Ok(EventSelector::Any);
        }
        let event_type = events::EventType::from_str(trimmed)
            .map_err(|error| AnalyticsError::InvalidArgument(error.to_string()))?;
        Ok(EventSelector::Type(event_type.as_str().to_string()))
    }
}

impl From<EventSelector> for String {
    fn from(selector: EventSelector) -> String {
        selector.to_string()
    }
}

impl TryFrom<String> for EventSelector {
    type Error = AnalyticsError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// `text` as a SQL string literal, quotes doubled, so that a user's event name
/// can never end the literal early.
pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The SQL condition that keeps or drops bot-flagged events.
pub(crate) fn bot_condition_sql(include_bots: bool) -> String {
    if include_bots { "TRUE".to_string() } else { format!("NOT {}", events::column::IS_BOT) }
}
