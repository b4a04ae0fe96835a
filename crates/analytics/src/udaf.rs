//! DataFusion aggregate functions with ClickHouse semantics, on top of the `funnel` crate.
//!
//! | SQL | ClickHouse | returns |
//! | --- | --- | --- |
//! | `window_funnel(window, ts, cond1, …, condN [, 'mode', …])` | `windowFunnel(window, 'mode', …)(ts, cond1, …)` | `UInt8` level |
//! | `retention(cond1, …, condN)` | `retention(cond1, …)` | `List<UInt8>` |
//! | `sequence_match(pattern, ts, cond1, …)` | `sequenceMatch(pattern)(ts, cond1, …)` | `Boolean` |
//! | `sequence_count(pattern, ts, cond1, …)` | `sequenceCount(pattern)(ts, cond1, …)` | `UInt64` |
//!
//! ClickHouse puts parameters in a first pair of parentheses; SQL has one, so the
//! parameters come first (`window`, `pattern`) or last (modes: one string per mode, or
//! one string of comma-separated modes) and must be literals.
//!
//! Time units: with an integer `ts` the window and the `(?t…)` thresholds are in the
//! same units as `ts`, as in ClickHouse. With a `TIMESTAMP` `ts` (the lake's
//! `event_time`) an integer window or threshold is in seconds, as for a ClickHouse
//! `DateTime`, but the comparisons keep the timestamp's full precision; a window may
//! also be an `INTERVAL` (`INTERVAL '7 days'`). A `NULL` condition is false; a row with
//! a `NULL` timestamp is skipped.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, ListArray, UInt8Array};
use arrow::datatypes::{DataType, Field, FieldRef, TimeUnit, UInt32Type, UInt64Type};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Literal;
use datafusion::prelude::SessionContext;
use funnel::{FunnelSpec, FunnelState, Modes, RetentionState, SequencePattern, SequenceState};

/// Registers `window_funnel`, `retention`, `sequence_match` and `sequence_count`.
pub fn register(context: &SessionContext) {
    context.register_udaf(window_funnel_udaf());
    context.register_udaf(retention_udaf());
    context.register_udaf(sequence_match_udaf());
    context.register_udaf(sequence_count_udaf());
}

/// The `window_funnel` aggregate.
pub fn window_funnel_udaf() -> AggregateUDF {
    AggregateUDF::from(WindowFunnel { signature: Signature::variadic_any(Volatility::Immutable) })
}

/// The `retention` aggregate.
pub fn retention_udaf() -> AggregateUDF {
    AggregateUDF::from(Retention { signature: Signature::variadic_any(Volatility::Immutable) })
}

/// The `sequence_match` aggregate.
pub fn sequence_match_udaf() -> AggregateUDF {
    AggregateUDF::from(Sequence {
        kind: SequenceKind::Match,
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

/// The `sequence_count` aggregate.
pub fn sequence_count_udaf() -> AggregateUDF {
    AggregateUDF::from(Sequence {
        kind: SequenceKind::Count,
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

// ---------------------------------------------------------------------------------------
// Argument checks shared by the functions.

/// How a timestamp argument maps to the `u64` the `funnel` crate compares, and how many
/// of its units make one second (1 for integers, whose parameters are in their own units).
#[derive(Clone, Copy, Debug)]
struct TimeArgument {
    units_per_second: u64,
    signed: bool,
    is_timestamp: bool,
}

impl TimeArgument {
    fn of(function: &str, data_type: &DataType) -> DfResult<Self> {
        let units_per_second = match data_type {
            DataType::Timestamp(TimeUnit::Second, _) => 1,
            DataType::Timestamp(TimeUnit::Millisecond, _) => 1_000,
            DataType::Timestamp(TimeUnit::Microsecond, _) => 1_000_000,
            DataType::Timestamp(TimeUnit::Nanosecond, _) => 1_000_000_000,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                return Ok(Self { units_per_second: 1, signed: true, is_timestamp: false });
            }
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                return Ok(Self { units_per_second: 1, signed: false, is_timestamp: false });
            }
            other => {
                return plan_err!(
                    "{function}: the timestamp argument must be a TIMESTAMP or an integer, not {other}"
                );
            }
        };
        Ok(Self { units_per_second, signed: true, is_timestamp: true })
    }

    /// The timestamps as order-preserving `u64`s (signed values are shifted by 2^63 so
    /// that differences, and therefore windows, are unchanged); `None` for nulls.
    fn values(&self, array: &ArrayRef) -> DfResult<Vec<Option<u64>>> {
        if self.signed {
            let values = arrow::compute::cast(array, &DataType::Int64)?;
            let values = values.as_primitive::<arrow::datatypes::Int64Type>();
            Ok(values.iter().map(|value| value.map(order_preserving)).collect())
        } else {
            let values = arrow::compute::cast(array, &DataType::UInt64)?;
            Ok(values.as_primitive::<UInt64Type>().iter().collect())
        }
    }

    /// A duration parameter in the timestamp's units: an integer means seconds for
    /// timestamps (own units for integers), an interval is converted exactly.
    fn duration(&self, function: &str, value: &ScalarValue) -> DfResult<u64> {
        let nanos_per_unit = 1_000_000_000 / self.units_per_second;
        let from_nanos = |nanos: i128| -> DfResult<u64> {
            if nanos < 0 {
                return plan_err!("{function}: the window must not be negative");
            }
            Ok(u64::try_from(nanos / i128::from(nanos_per_unit)).unwrap_or(u64::MAX))
        };
        match value {
            ScalarValue::IntervalMonthDayNano(Some(interval)) => {
                if interval.months != 0 {
                    return plan_err!(
                        "{function}: a window in months has no fixed length; use days"
                    );
                }
                if !self.is_timestamp {
                    return plan_err!(
                        "{function}: an INTERVAL window needs a TIMESTAMP argument, not an integer"
                    );
                }
                from_nanos(
                    i128::from(interval.days) * 86_400_000_000_000
                        + i128::from(interval.nanoseconds),
                )
            }
            ScalarValue::IntervalDayTime(Some(interval)) if self.is_timestamp => from_nanos(
                i128::from(interval.days) * 86_400_000_000_000
                    + i128::from(interval.milliseconds) * 1_000_000,
            ),
            other => match integer_literal(other) {
                Some(seconds) if seconds >= 0 => {
                    Ok((seconds as u64).saturating_mul(self.units_per_second))
                }
                Some(_) => plan_err!("{function}: the window must not be negative"),
                None => plan_err!(
                    "{function}: the window must be an integer or INTERVAL literal, not {other}"
                ),
            },
        }
    }
}

/// Maps `i64` onto `u64` keeping order and differences.
fn order_preserving(value: i64) -> u64 {
    (value as u64) ^ (1 << 63)
}

fn integer_literal(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
        _ => None,
    }
}

fn literal<'a>(
    function: &str,
    what: &str,
    expr: &'a Arc<dyn PhysicalExpr>,
) -> DfResult<&'a ScalarValue> {
    match expr.downcast_ref::<Literal>() {
        Some(literal) => Ok(literal.value()),
        None => plan_err!("{function}: {what} must be a literal, not {expr}"),
    }
}

fn string_literal(value: &ScalarValue) -> Option<&str> {
    match value {
        ScalarValue::Utf8(Some(text))
        | ScalarValue::LargeUtf8(Some(text))
        | ScalarValue::Utf8View(Some(text)) => Some(text),
        _ => None,
    }
}

fn is_string(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Checks that the condition arguments are booleans (or NULL) and that there are
/// between `min` and 32 of them.
fn check_conditions(function: &str, types: &[DataType], min: usize) -> DfResult<()> {
    if types.len() < min || types.len() > funnel::MAX_CONDITIONS {
        return plan_err!(
            "{function}: takes {min} to {} conditions, got {}",
            funnel::MAX_CONDITIONS,
            types.len()
        );
    }
    for (index, data_type) in types.iter().enumerate() {
        if !matches!(data_type, DataType::Boolean | DataType::Null) {
            return plan_err!(
                "{function}: condition {} must be a boolean expression, not {data_type}",
                index + 1
            );
        }
    }
    Ok(())
}

/// The condition masks of a batch: bit `j` of row `i` is condition `j + 1` being true.
fn condition_masks(conditions: &[ArrayRef], rows: usize) -> DfResult<Vec<u32>> {
    let mut masks = vec![0u32; rows];
    for (bit, condition) in conditions.iter().enumerate() {
        if condition.data_type() == &DataType::Null {
            continue;
        }
        let condition: &BooleanArray = condition.as_boolean_opt().ok_or_else(|| {
            DataFusionError::Internal(format!("condition {} is not boolean", bit + 1))
        })?;
        for (mask, value) in masks.iter_mut().zip(condition.iter()) {
            if value == Some(true) {
                *mask |= 1 << bit;
            }
        }
    }
    Ok(masks)
}

/// Calls `add(row, timestamp, mask)` for every row of a batch with a timestamp.
fn add_rows(
    time: &TimeArgument,
    timestamps: &ArrayRef,
    conditions: &[ArrayRef],
    mut add: impl FnMut(usize, u64, u32),
) -> DfResult<()> {
    let timestamps = time.values(timestamps)?;
    let masks = condition_masks(conditions, timestamps.len())?;
    for (row, (timestamp, mask)) in timestamps.into_iter().zip(masks).enumerate() {
        if let Some(timestamp) = timestamp {
            add(row, timestamp, mask);
        }
    }
    Ok(())
}

/// Groups' `(timestamp, mask)` rows as the two list columns of an intermediate state,
/// one list per group.
fn rows_state_arrays<'a>(
    groups: impl Iterator<Item = &'a [funnel::Event]> + Clone,
) -> [ListArray; 2] {
    [
        ListArray::from_iter_primitive::<UInt64Type, _, _>(
            groups.clone().map(|rows| Some(rows.iter().map(|row| Some(row.timestamp)))),
        ),
        ListArray::from_iter_primitive::<UInt32Type, _, _>(
            groups.map(|rows| Some(rows.iter().map(|row| Some(row.mask)))),
        ),
    ]
}

/// One group's rows as the scalar intermediate state of an [`Accumulator`].
fn rows_state(rows: &[funnel::Event]) -> Vec<ScalarValue> {
    rows_state_arrays(std::iter::once(rows))
        .into_iter()
        .map(|list| ScalarValue::List(Arc::new(list)))
        .collect()
}

fn rows_state_fields(name: &str) -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(
            format!("{name}_timestamps"),
            DataType::List(Arc::new(Field::new_list_field(DataType::UInt64, true))),
            true,
        )),
        Arc::new(Field::new(
            format!("{name}_masks"),
            DataType::List(Arc::new(Field::new_list_field(DataType::UInt32, true))),
            true,
        )),
    ]
}

/// Calls `add(state_row, timestamp, mask)` for every row of merged intermediate states.
fn merge_rows_state(states: &[ArrayRef], mut add: impl FnMut(usize, u64, u32)) -> DfResult<()> {
    let (Some(timestamps), Some(masks)) = (states.first(), states.get(1)) else {
        return exec_err!("funnel state has {} columns, expected 2", states.len());
    };
    let timestamps = timestamps.as_list::<i32>();
    let masks = masks.as_list::<i32>();
    for group in 0..timestamps.len() {
        if timestamps.is_null(group) {
            continue;
        }
        let group_timestamps = timestamps.value(group);
        let group_masks = masks.value(group);
        let group_timestamps = group_timestamps.as_primitive::<UInt64Type>();
        let group_masks = group_masks.as_primitive::<UInt32Type>();
        for (timestamp, mask) in group_timestamps.values().iter().zip(group_masks.values()) {
            add(group, *timestamp, *mask);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// window_funnel

#[derive(Debug, PartialEq, Eq, Hash)]
struct WindowFunnel {
    signature: Signature,
}

/// The argument layout of one `window_funnel` call.
struct WindowFunnelArguments {
    time: TimeArgument,
    conditions: usize,
}

impl WindowFunnel {
    const NAME: &'static str = "window_funnel";

    fn layout(types: &[DataType]) -> DfResult<WindowFunnelArguments> {
        let name = Self::NAME;
        if types.len() < 3 {
            return plan_err!(
                "{name}(window, timestamp, cond1, ..., condN [, 'mode', ...]) needs at least 3 arguments"
            );
        }
        let modes = types[2..].iter().rev().take_while(|data_type| is_string(data_type)).count();
        let conditions = types.len() - 2 - modes;
        check_conditions(name, &types[2..2 + conditions], 1)?;
        Ok(WindowFunnelArguments { time: TimeArgument::of(name, &types[1])?, conditions })
    }

    /// The checked argument layout and the funnel the literal parameters describe.
    fn spec(args: &AccumulatorArgs) -> DfResult<(WindowFunnelArguments, FunnelSpec)> {
        let name = Self::NAME;
        let types: Vec<DataType> =
            args.expr_fields.iter().map(|field| field.data_type().clone()).collect();
        let layout = Self::layout(&types)?;
        let window = layout.time.duration(name, literal(name, "the window", &args.exprs[0])?)?;
        let mut mode_names = Vec::new();
        for expr in &args.exprs[2 + layout.conditions..] {
            let value = literal(name, "a mode", expr)?;
            let Some(text) = string_literal(value) else {
                return plan_err!("{name}: a mode must be a string, not {value}");
            };
            mode_names.extend(text.split(',').map(str::trim).filter(|mode| !mode.is_empty()));
        }
        let modes = Modes::from_options(mode_names)
            .map_err(|error| DataFusionError::Plan(format!("{name}: {error}")))?;
        let spec = FunnelSpec::new(window, layout.conditions, modes)
            .map_err(|error| DataFusionError::Plan(format!("{name}: {error}")))?;
        Ok((layout, spec))
    }
}

impl AggregateUDFImpl for WindowFunnel {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        Self::layout(arg_types)?;
        Ok(DataType::UInt8)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn default_value(&self, _data_type: &DataType) -> DfResult<ScalarValue> {
        Ok(ScalarValue::UInt8(Some(0)))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        let (layout, spec) = Self::spec(&args)?;
        Ok(Box::new(WindowFunnelAccumulator {
            time: layout.time,
            conditions: layout.conditions,
            state: spec.state(),
        }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        let (layout, spec) = Self::spec(&args)?;
        Ok(Box::new(WindowFunnelGroups {
            time: layout.time,
            conditions: layout.conditions,
            spec,
            groups: Vec::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(rows_state_fields(args.name))
    }
}

#[derive(Debug)]
struct WindowFunnelAccumulator {
    time: TimeArgument,
    conditions: usize,
    state: FunnelState,
}

impl Accumulator for WindowFunnelAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let conditions = &values[2..2 + self.conditions];
        add_rows(&self.time, &values[1], conditions, |_, timestamp, mask| {
            self.state.add(timestamp, mask)
        })
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::UInt8(Some(self.state.finish())))
    }

    fn size(&self) -> usize {
        size_of_val(self) + std::mem::size_of_val(self.state.rows())
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(rows_state(self.state.rows()))
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        merge_rows_state(states, |_, timestamp, mask| self.state.add(timestamp, mask))
    }
}

/// `window_funnel` for many groups at once (`GROUP BY user_id`): one row list per group
/// instead of one boxed accumulator per group.
#[derive(Debug)]
struct WindowFunnelGroups {
    time: TimeArgument,
    conditions: usize,
    spec: FunnelSpec,
    groups: Vec<FunnelState>,
}

impl GroupsAccumulator for WindowFunnelGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        let spec = self.spec;
        self.groups.resize_with(total_num_groups, || spec.state());
        let conditions = &values[2..2 + self.conditions];
        add_rows(&self.time, &values[1], conditions, |row, timestamp, mask| {
            if opt_filter.is_none_or(|filter| filter.is_valid(row) && filter.value(row)) {
                self.groups[group_indices[row]].add(timestamp, mask);
            }
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let groups = emit_to.take_needed(&mut self.groups);
        Ok(Arc::new(UInt8Array::from_iter_values(groups.iter().map(FunnelState::finish))))
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        let groups = emit_to.take_needed(&mut self.groups);
        let arrays = rows_state_arrays(groups.iter().map(FunnelState::rows));
        Ok(arrays.into_iter().map(|list| Arc::new(list) as ArrayRef).collect())
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DfResult<()> {
        let spec = self.spec;
        self.groups.resize_with(total_num_groups, || spec.state());
        merge_rows_state(values, |row, timestamp, mask| {
            self.groups[group_indices[row]].add(timestamp, mask)
        })
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        // Every input row becomes a one-row state (or an empty one for a row that is
        // filtered out, has no timestamp, or would not be kept).
        let mut rows = Self {
            time: self.time,
            conditions: self.conditions,
            spec: self.spec,
            groups: vec![self.spec.state(); values[1].len()],
        };
        let group_indices: Vec<usize> = (0..values[1].len()).collect();
        rows.update_batch(values, &group_indices, opt_filter, values[1].len())?;
        rows.state(EmitTo::All)
    }

    fn size(&self) -> usize {
        size_of_val(self)
            + self.groups.capacity() * size_of::<FunnelState>()
            + self.groups.iter().map(|state| size_of_val(state.rows())).sum::<usize>()
    }
}

// ---------------------------------------------------------------------------------------
// retention

#[derive(Debug, PartialEq, Eq, Hash)]
struct Retention {
    signature: Signature,
}

impl Retention {
    const NAME: &'static str = "retention";
}

impl AggregateUDFImpl for Retention {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        check_conditions(Self::NAME, arg_types, 2)?;
        Ok(DataType::List(Arc::new(Field::new_list_field(DataType::UInt8, true))))
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        let state = RetentionState::new(args.exprs.len())
            .map_err(|error| DataFusionError::Plan(format!("{}: {error}", Self::NAME)))?;
        Ok(Box::new(RetentionAccumulator { state }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format!("{}_mask", args.name), DataType::UInt32, true))])
    }
}

#[derive(Debug)]
struct RetentionAccumulator {
    state: RetentionState,
}

impl Accumulator for RetentionAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let rows = values.first().map_or(0, |array| array.len());
        for mask in condition_masks(values, rows)? {
            self.state.add(mask);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let flags: Vec<ScalarValue> =
            self.state.finish().into_iter().map(|flag| ScalarValue::UInt8(Some(flag))).collect();
        Ok(ScalarValue::List(ScalarValue::new_list_nullable(&flags, &DataType::UInt8)))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::UInt32(Some(self.state.mask()))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let Some(masks) = states.first() else {
            return exec_err!("retention state has no columns");
        };
        for mask in masks.as_primitive::<UInt32Type>().iter().flatten() {
            self.state.add(mask);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// sequence_match / sequence_count

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum SequenceKind {
    Match,
    Count,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Sequence {
    kind: SequenceKind,
    signature: Signature,
}

impl Sequence {
    fn function_name(&self) -> &'static str {
        match self.kind {
            SequenceKind::Match => "sequence_match",
            SequenceKind::Count => "sequence_count",
        }
    }

    fn check(&self, types: &[DataType]) -> DfResult<TimeArgument> {
        let name = self.function_name();
        if types.len() < 4 {
            return plan_err!(
                "{name}(pattern, timestamp, cond1, cond2, ...) needs a pattern, a timestamp and at least 2 conditions"
            );
        }
        if !is_string(&types[0]) {
            return plan_err!("{name}: the pattern must be a string, not {}", types[0]);
        }
        check_conditions(name, &types[2..], 2)?;
        TimeArgument::of(name, &types[1])
    }
}

impl AggregateUDFImpl for Sequence {
    fn name(&self) -> &str {
        self.function_name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.check(arg_types)?;
        Ok(match self.kind {
            SequenceKind::Match => DataType::Boolean,
            SequenceKind::Count => DataType::UInt64,
        })
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn default_value(&self, _data_type: &DataType) -> DfResult<ScalarValue> {
        Ok(match self.kind {
            SequenceKind::Match => ScalarValue::Boolean(Some(false)),
            SequenceKind::Count => ScalarValue::UInt64(Some(0)),
        })
    }

    fn accumulator(&self, args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        let name = self.function_name();
        let types: Vec<DataType> =
            args.expr_fields.iter().map(|field| field.data_type().clone()).collect();
        let time = self.check(&types)?;
        let value = literal(name, "the pattern", &args.exprs[0])?;
        let Some(pattern) = string_literal(value) else {
            return plan_err!("{name}: the pattern must be a string, not {value}");
        };
        let pattern = SequencePattern::parse(pattern, types.len() - 2)
            .map_err(|error| DataFusionError::Plan(format!("{name}: {error}")))?
            .with_time_scale(time.units_per_second);
        let state = pattern.state();
        Ok(Box::new(SequenceAccumulator { kind: self.kind, time, pattern, state }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(rows_state_fields(args.name))
    }
}

#[derive(Debug)]
struct SequenceAccumulator {
    kind: SequenceKind,
    time: TimeArgument,
    pattern: SequencePattern,
    state: SequenceState,
}

impl Accumulator for SequenceAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        add_rows(&self.time, &values[1], &values[2..], |_, timestamp, mask| {
            self.state.add(timestamp, mask)
        })
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let name = match self.kind {
            SequenceKind::Match => "sequence_match",
            SequenceKind::Count => "sequence_count",
        };
        let failed =
            |error: funnel::FunnelError| DataFusionError::Execution(format!("{name}: {error}"));
        Ok(match self.kind {
            SequenceKind::Match => {
                ScalarValue::Boolean(Some(self.state.finish_match(&self.pattern).map_err(failed)?))
            }
            SequenceKind::Count => {
                ScalarValue::UInt64(Some(self.state.finish_count(&self.pattern).map_err(failed)?))
            }
        })
    }

    fn size(&self) -> usize {
        size_of_val(self) + std::mem::size_of_val(self.state.rows())
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(rows_state(self.state.rows()))
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        merge_rows_state(states, |_, timestamp, mask| self.state.add(timestamp, mask))
    }
}
