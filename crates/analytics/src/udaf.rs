//! DataFusion aggregate functions with ClickHouse semantics.
