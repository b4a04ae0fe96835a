//! Serde adapters that store floats as strings in Rust's shortest
//! round-trip form. serde_json's default float parser may be one unit in
//! the last place off, and its exact parser (`float_roundtrip`) is a feature
//! that would rebuild every crate depending on serde_json; a loaded model
//! must score exactly like the saved one, so the values scoring uses go
//! through these. Plain JSON numbers are accepted too, for hand-written files.

use serde::{Deserialize, Deserializer, Serializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Text(String),
    Number(f64),
}

fn parse<E: serde::de::Error>(written: Written) -> Result<f64, E> {
    match written {
        Written::Number(v) => Ok(v),
        Written::Text(text) => {
            text.parse::<f64>().map_err(|_| E::custom(format!("not a number: {text:?}")))
        }
    }
}

pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{value:?}"))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    parse(Written::deserialize(deserializer)?)
}

pub mod vec {
    use super::*;

    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|v| format!("{v:?}")))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Written>::deserialize(deserializer)?.into_iter().map(parse::<D::Error>).collect()
    }
}
