//! The binary half of a saved model: a sequence of typed little-endian arrays, read back
//! in the order they were written. The JSON half (`model.json`) says what they are.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{RecommendError, Result};
use crate::interactions::Csr;

const MAGIC: &[u8; 8] = b"SFREC001";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Kind {
    U32 = 1,
    F32 = 2,
    U64 = 3,
}

pub(crate) struct ArrayWriter {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl ArrayWriter {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let file =
            std::fs::File::create(path).map_err(|e| RecommendError::io("writing", path, e))?;
        let mut writer = ArrayWriter {
            path: path.to_path_buf(),
            out: std::io::BufWriter::with_capacity(1 << 20, file),
        };
        writer.bytes(MAGIC)?;
        Ok(writer)
    }

    fn bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| RecommendError::io("writing", &self.path, e))
    }

    fn header(&mut self, kind: Kind, len: usize) -> Result<()> {
        self.bytes(&[kind as u8])?;
        self.bytes(&(len as u64).to_le_bytes())
    }

    pub(crate) fn u32s(&mut self, values: &[u32]) -> Result<()> {
        self.header(Kind::U32, values.len())?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.bytes(&bytes)
    }

    pub(crate) fn f32s(&mut self, values: &[f32]) -> Result<()> {
        self.header(Kind::F32, values.len())?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.bytes(&bytes)
    }

    pub(crate) fn u64s(&mut self, values: impl ExactSizeIterator<Item = u64>) -> Result<()> {
        self.header(Kind::U64, values.len())?;
        let bytes: Vec<u8> = values.flat_map(|v| v.to_le_bytes()).collect();
        self.bytes(&bytes)
    }

    pub(crate) fn csr(&mut self, matrix: &Csr) -> Result<()> {
        self.u64s(matrix.offsets.iter().map(|&o| o as u64))?;
        self.u32s(&matrix.columns)?;
        self.f32s(&matrix.values)
    }

    pub(crate) fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| RecommendError::io("writing", &self.path, e))
    }
}

pub(crate) struct ArrayReader {
    path: PathBuf,
    input: std::io::BufReader<std::fs::File>,
}

impl ArrayReader {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| RecommendError::io("reading", path, e))?;
        let mut reader = ArrayReader {
            path: path.to_path_buf(),
            input: std::io::BufReader::with_capacity(1 << 20, file),
        };
        let mut magic = [0u8; 8];
        reader.fill(&mut magic)?;
        if &magic != MAGIC {
            return Err(
                reader.damaged("not a smartfunnel recommender array file (or another version)")
            );
        }
        Ok(reader)
    }

    pub(crate) fn damaged(&self, reason: &str) -> RecommendError {
        RecommendError::ModelFormat { path: self.path.clone(), reason: reason.to_string() }
    }

    fn fill(&mut self, buffer: &mut [u8]) -> Result<()> {
        self.input.read_exact(buffer).map_err(|e| RecommendError::io("reading", &self.path, e))
    }

    fn array(&mut self, kind: Kind) -> Result<Vec<[u8; 8]>> {
        let mut header = [0u8; 9];
        self.fill(&mut header)?;
        if header[0] != kind as u8 {
            return Err(self.damaged("array of an unexpected type"));
        }
        let len = u64::from_le_bytes(header[1..9].try_into().expect("8 bytes")) as usize;
        let width = if kind == Kind::U64 { 8 } else { 4 };
        let mut bytes =
            vec![0u8; len.checked_mul(width).ok_or_else(|| self.damaged("array too long"))?];
        self.fill(&mut bytes)?;
        Ok(bytes
            .chunks_exact(width)
            .map(|chunk| {
                let mut word = [0u8; 8];
                word[..width].copy_from_slice(chunk);
                word
            })
            .collect())
    }

    pub(crate) fn u32s(&mut self) -> Result<Vec<u32>> {
        Ok(self
            .array(Kind::U32)?
            .into_iter()
            .map(|w| u32::from_le_bytes(w[..4].try_into().expect("4 bytes")))
            .collect())
    }

    pub(crate) fn f32s(&mut self) -> Result<Vec<f32>> {
        Ok(self
            .array(Kind::F32)?
            .into_iter()
            .map(|w| f32::from_le_bytes(w[..4].try_into().expect("4 bytes")))
            .collect())
    }

    pub(crate) fn u64s(&mut self) -> Result<Vec<u64>> {
        Ok(self.array(Kind::U64)?.into_iter().map(u64::from_le_bytes).collect())
    }

    pub(crate) fn csr(&mut self, rows: usize, columns: usize) -> Result<Csr> {
        let offsets: Vec<usize> = self.u64s()?.into_iter().map(|o| o as usize).collect();
        let matrix = Csr { offsets, columns: self.u32s()?, values: self.f32s()? };
        let valid = matrix.offsets.len() == rows + 1
            && matrix.offsets.first() == Some(&0)
            && matrix.offsets.windows(2).all(|w| w[0] <= w[1])
            && matrix.offsets.last() == Some(&matrix.columns.len())
            && matrix.columns.len() == matrix.values.len()
            && matrix.columns.iter().all(|&c| (c as usize) < columns);
        if !valid {
            return Err(self.damaged("inconsistent sparse matrix"));
        }
        Ok(matrix)
    }
}
