//! Holding parsed events by day until the import's input is read, spilling
//! the largest days to Arrow IPC files when memory runs over its budget.
//!
//! Architecture invariant: resident memory of the staging area stays below
//! `memory_budget` plus one parsed chunk, whatever the input size; cleaning
//! then loads one day at a time.

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
    bytes: usize,
    spills: Vec<PathBuf>,
}

/// Parsed events grouped by their UTC date (days since the Unix epoch).
#[derive(Debug)]
pub struct Staging {
    days: BTreeMap<i32, DayBuffer>,
    resident_bytes: usize,
    memory_budget: usize,
    spill_dir: PathBuf,
    spill_count: usize,
    pub spilled_bytes: u64,
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
        buffer.bytes = 0;
        buffer.spills.push(path);
        Ok(())
    }

    /// The days held, in order.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.days.keys().map(|&d| date_from_days(d)).collect()
    }

    /// Removes and returns the earliest day's events, as staged batches.
    pub fn pop_first_day(&mut self) -> Result<Option<(NaiveDate, Vec<RecordBatch>)>> {
        let Some((day, mut buffer)) = self.days.pop_first() else {
            return Ok(None);
        };
        self.resident_bytes -= buffer.bytes;
        for path in &buffer.spills {
            let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
            let reader =
                arrow::ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None)?;
            for batch in reader {
                buffer.batches.push(batch?);
            }
            let _ = std::fs::remove_file(path);
        }
        Ok(Some((date_from_days(day), buffer.batches)))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
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
