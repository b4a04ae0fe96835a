//! Holding parsed events by day until the import's input is read, spilling
//! the largest days to Arrow IPC files when memory runs over its budget.
//!
//! Architecture invariant: resident memory of the staging area stays below
//! `memory_budget` plus one parsed chunk, whatever the input size; cleaning
//! then loads one day at a time, and before it does, other days are spilled
//! until the staged days and the cleaning of this one fit the budget together.
//! Only a day that alone exceeds the budget goes over it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, Date32Array, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use chrono::NaiveDate;
use events::column;

use crate::batch::staging_schema;
use crate::error::{IngestError, Result};

#[derive(Debug, Default)]
struct DayBuffer {
    batches: Vec<RecordBatch>,
    /// Resident bytes.
    bytes: usize,
    spills: Vec<PathBuf>,
    /// Bytes in `spills`, as they were in memory.
    spilled: usize,
}

/// Cleaning a day holds, besides the day itself, about this many more copies
/// of it: its sort columns, the cleaned day, and the previous day still being
/// encoded by the lake.
const CLEANING_COPIES: usize = 3;

/// Parsed events grouped by their UTC date (days since the Unix epoch).
#[derive(Debug)]
pub struct Staging {
    days: BTreeMap<i32, DayBuffer>,
    resident_bytes: usize,
    memory_budget: usize,
    spill_dir: PathBuf,
    spill_count: usize,
    pub spilled_bytes: u64,
    /// Time spent writing and reading back spill files, for the debug log.
    spill_time: std::time::Duration,
    reload_time: std::time::Duration,
}

impl Staging {
    pub fn new(spill_dir: PathBuf, memory_budget: usize) -> Self {
        Staging {
            days: BTreeMap::new(),
            resident_bytes: 0,
            memory_budget,
            spill_dir,
            spill_count: 0,
            spilled_bytes: 0,
            spill_time: std::time::Duration::ZERO,
            reload_time: std::time::Duration::ZERO,
        }
    }

    pub fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let dates = date_column(&batch);
        let first = dates.value(0);
        if dates.values().iter().all(|&d| d == first) {
            self.add(first, batch);
        } else {
            let mut rows_by_day: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
            for (row, &day) in dates.values().iter().enumerate() {
                rows_by_day.entry(day).or_default().push(row as u32);
            }
            for (day, rows) in rows_by_day {
                let part = take_record_batch(&batch, &UInt32Array::from(rows))?;
                self.add(day, part);
            }
        }
        while self.resident_bytes > self.memory_budget {
            self.spill_largest()?;
        }
        Ok(())
    }

    fn add(&mut self, day: i32, batch: RecordBatch) {
        let bytes = batch.get_array_memory_size();
        let buffer = self.days.entry(day).or_default();
        buffer.batches.push(batch);
        buffer.bytes += bytes;
        self.resident_bytes += bytes;
    }

    fn spill_largest(&mut self) -> Result<()> {
        let Some((&day, _)) =
            self.days.iter().filter(|(_, b)| b.bytes > 0).max_by_key(|(_, b)| b.bytes)
        else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        std::fs::create_dir_all(&self.spill_dir)
            .map_err(|e| IngestError::io(&self.spill_dir, e))?;
        let path = self.spill_dir.join(format!("day-{day}-{}.arrow", self.spill_count));
        self.spill_count += 1;
        let buffer = self.days.get_mut(&day).expect("chosen above");
        let file = std::fs::File::create(&path).map_err(|e| IngestError::io(&path, e))?;
        let mut writer = arrow::ipc::writer::FileWriter::try_new(
            std::io::BufWriter::new(file),
            &staging_schema(),
        )?;
        for batch in buffer.batches.drain(..) {
            writer.write(&batch)?;
        }
        writer.finish()?;
        self.resident_bytes -= buffer.bytes;
        self.spilled_bytes += buffer.bytes as u64;
        buffer.spilled += buffer.bytes;
        buffer.bytes = 0;
        buffer.spills.push(path);
        self.spill_time += started.elapsed();
        Ok(())
    }

    /// The days held, in order.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.days.keys().map(|&d| date_from_days(d)).collect()
    }

    /// Removes and returns the earliest day's events, as staged batches.
    ///
    /// Other days are spilled first as far as needed to keep what cleaning
    /// this day holds within the memory budget, so that memory during
    /// cleaning, like memory during reading, does not grow with the input.
    pub fn pop_first_day(&mut self) -> Result<Option<(NaiveDate, Vec<RecordBatch>)>> {
        let Some((day, mut buffer)) = self.days.pop_first() else {
            return Ok(None);
        };
        self.resident_bytes -= buffer.bytes;
        let cleaning = (buffer.bytes + buffer.spilled) * (1 + CLEANING_COPIES);
        while self.resident_bytes > 0 && self.resident_bytes + cleaning > self.memory_budget {
            self.spill_largest()?;
        }
        let started = std::time::Instant::now();
        for path in &buffer.spills {
            let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
            let reader =
                arrow::ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None)?;
            for batch in reader {
                buffer.batches.push(batch?);
            }
            let _ = std::fs::remove_file(path);
        }
        self.reload_time += started.elapsed();
        Ok(Some((date_from_days(day), buffer.batches)))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        tracing::debug!(
            spilled_bytes = self.spilled_bytes,
            spill_files = self.spill_count,
            spill_seconds = self.spill_time.as_secs_f64(),
            reload_seconds = self.reload_time.as_secs_f64(),
            "staging"
        );
        for buffer in self.days.values() {
            for path in &buffer.spills {
                let _ = std::fs::remove_file(path);
            }
        }
        let _ = std::fs::remove_dir(&self.spill_dir);
    }
}

fn date_column(batch: &RecordBatch) -> Arc<Date32Array> {
    let array = batch.column_by_name(column::EVENT_DATE).expect("staging schema has event_date");
    Arc::new(array.as_any().downcast_ref::<Date32Array>().expect("event_date is Date32").clone())
}

pub(crate) fn date_from_days(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days + 719_163).expect("dates come from valid timestamps")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    /// A batch of `events` events on day `day` of March 2024.
    fn day_batch(day: u32, events: usize) -> RecordBatch {
        let mut builder = crate::EventBatchBuilder::default();
        let time = chrono::Utc.with_ymd_and_hms(2024, 3, day, 12, 0, 0).unwrap();
        for i in 0..events {
            let event = events::Event {
                event_time: time,
                user_id: format!("user-{i}"),
                ..events::Event::default()
            };
            builder.push(&event, None);
        }
        builder.finish()
    }

    #[test]
    fn popping_a_day_spills_other_days_to_make_room_for_cleaning_it() {
        let spill_dir = tempfile::tempdir().unwrap();
        let day_bytes = day_batch(1, 1000).get_array_memory_size();
        // Room for the three days, but not for cleaning one of them beside the others.
        let mut staging = Staging::new(spill_dir.path().join("spill"), 4 * day_bytes);
        for day in 1..=3 {
            staging.push(day_batch(day, 1000)).unwrap();
        }
        assert_eq!(staging.spilled_bytes, 0);
        let (date, batches) = staging.pop_first_day().unwrap().unwrap();
        assert_eq!(date.to_string(), "2024-03-01");
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1000);
        assert!(staging.spilled_bytes > 0, "the other days went to disk");
        assert_eq!(staging.resident_bytes, 0);
        for expected in ["2024-03-02", "2024-03-03"] {
            let (date, batches) = staging.pop_first_day().unwrap().unwrap();
            assert_eq!(date.to_string(), expected);
            assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1000);
        }
        assert!(staging.pop_first_day().unwrap().is_none());
    }
}
