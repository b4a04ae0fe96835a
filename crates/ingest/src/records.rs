//! Cutting raw bytes into logical records and records into fields.
//!
//! Everything here works on bytes so that a bad line (invalid UTF-8, a stray
//! quote) only ever affects itself: a quoted field may span lines, but never
//! more than [`MAX_LINES_PER_RECORD`], after which the opening line is taken
//! as a record on its own and rejected for its unterminated quote.

use std::borrow::Cow;
use std::io::Read;

use crate::reject::RowError;

/// A quoted field spanning more lines than this is a broken quote, not data.
pub const MAX_LINES_PER_RECORD: u64 = 64;

/// Where one logical record lies in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSpan {
    pub start: usize,
    /// Exclusive, without the line terminator.
    pub end: usize,
    /// Where the next record starts.
    pub next: usize,
    /// Physical lines the record covers.
    pub lines: u64,
    /// The record opened a quote that was not closed in time.
    pub unterminated_quote: bool,
    /// The record is the last in the input and has no line terminator (a
    /// truncated file often ends like this).
    pub at_eof_without_newline: bool,
}

/// Finds the record starting at `start`; `None` when more input is needed.
pub fn next_record(buf: &[u8], start: usize, quoting: bool, eof: bool) -> Option<RecordSpan> {
    let trim_cr = |end: usize| if end > start && buf[end - 1] == b'\r' { end - 1 } else { end };
    let line_end = |from: usize| memchr::memchr(b'\n', &buf[from..]).map(|i| from + i);
    let whole_line = |unterminated_quote| match line_end(start) {
        Some(newline) => Some(RecordSpan {
            start,
            end: trim_cr(newline),
            next: newline + 1,
            lines: 1,
            unterminated_quote,
            at_eof_without_newline: false,
        }),
        None if eof => Some(RecordSpan {
            start,
            end: trim_cr(buf.len()),
            next: buf.len(),
            lines: 1,
            unterminated_quote,
            at_eof_without_newline: true,
        }),
        None => None,
    };
    if !quoting {
        return whole_line(false);
    }
    let mut position = start;
    let mut in_quotes = false;
    let mut lines = 1;
    loop {
        match memchr::memchr2(b'"', b'\n', &buf[position..]) {
            Some(offset) => {
                let at = position + offset;
                if buf[at] == b'"' {
                    in_quotes = !in_quotes;
                } else if !in_quotes {
                    return Some(RecordSpan {
                        start,
                        end: trim_cr(at),
                        next: at + 1,
                        lines,
                        unterminated_quote: false,
                        at_eof_without_newline: false,
                    });
                } else {
                    lines += 1;
                    if lines > MAX_LINES_PER_RECORD {
                        return whole_line(true);
                    }
                }
                position = at + 1;
            }
            None if !eof => return None,
            None if in_quotes => return whole_line(true),
            None => {
                return Some(RecordSpan {
                    start,
                    end: trim_cr(buf.len()),
                    next: buf.len(),
                    lines,
                    unterminated_quote: false,
                    at_eof_without_newline: true,
                });
            }
        }
    }
}

/// A run of whole records read from a file.
#[derive(Debug)]
pub struct Chunk {
    pub data: Vec<u8>,
    /// Line number of the first byte of `data`.
    pub first_line: u64,
    /// This chunk ends the input.
    pub last: bool,
}

/// Reads a file in chunks of about `chunk_bytes`, each ending on a record
/// boundary, so chunks can be parsed independently and in parallel.
pub struct ChunkReader<R> {
    reader: R,
    quoting: bool,
    chunk_bytes: usize,
    pending: Vec<u8>,
    next_line: u64,
    eof: bool,
    done: bool,
    pub bytes_read: u64,
}

impl<R: Read> ChunkReader<R> {
    pub fn new(reader: R, quoting: bool, chunk_bytes: usize) -> Self {
        ChunkReader {
            reader,
            quoting,
            chunk_bytes,
            pending: Vec::new(),
            next_line: 1,
            eof: false,
            done: false,
            bytes_read: 0,
        }
    }

    pub fn set_quoting(&mut self, quoting: bool) {
        self.quoting = quoting;
    }

    /// Puts `bytes` back in front of the input not yet returned, so that the
    /// next chunk starts with them: the partial record at the end of a chunk
    /// that was cut before the quoting rules were known.
    pub fn unread(&mut self, mut bytes: Vec<u8>) {
        self.next_line -= memchr::memchr_iter(b'\n', &bytes).count() as u64;
        bytes.extend_from_slice(&self.pending);
        self.pending = bytes;
    }

    pub fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        loop {
            if !self.eof && self.pending.len() < self.chunk_bytes {
                self.fill()?;
                continue;
            }
            // Walk whole records up to the chunk size; keep the partial tail.
            let mut position = 0;
            let mut lines = 0;
            while position < self.pending.len() {
                match next_record(&self.pending, position, self.quoting, self.eof) {
                    Some(span) => {
                        position = span.next;
                        lines += span.lines;
                        if position >= self.chunk_bytes && !self.eof {
                            break;
                        }
                    }
                    None => break,
                }
            }
            if position == 0 && !self.eof {
                // One record larger than the chunk: read more.
                let before = self.pending.len();
                self.fill()?;
                if self.pending.len() == before && !self.eof {
                    continue;
                }
                continue;
            }
            let tail = self.pending.split_off(position);
            let data = std::mem::replace(&mut self.pending, tail);
            let first_line = self.next_line;
            self.next_line += lines;
            let last = self.eof && self.pending.is_empty();
            self.done = last;
            return Ok(Some(Chunk { data, first_line, last }));
        }
    }

    fn fill(&mut self) -> std::io::Result<()> {
        let want = self.chunk_bytes.max(64 * 1024);
        let old = self.pending.len();
        self.pending.resize(old + want, 0);
        let mut filled = old;
        while filled < self.pending.len() {
            match self.reader.read(&mut self.pending[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.pending.truncate(filled);
                    return Err(e);
                }
            }
        }
        self.bytes_read += (filled - old) as u64;
        self.pending.truncate(filled);
        Ok(())
    }
}

/// How fields are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Byte(u8),
    /// Runs of spaces and tabs, leading and trailing ones ignored (CDNOW).
    Whitespace,
}

/// Splits one record into fields. With `quoting`, fields may be enclosed in
/// double quotes, with `""` standing for a quote inside them (RFC 4180).
pub fn split_fields<'a>(
    record: &'a str,
    delimiter: Delimiter,
    quoting: bool,
    fields: &mut Vec<Cow<'a, str>>,
) -> Result<(), RowError> {
    fields.clear();
    let Delimiter::Byte(separator) = delimiter else {
        fields.extend(record.split_ascii_whitespace().map(Cow::Borrowed));
        return Ok(());
    };
    let bytes = record.as_bytes();
    let mut position = 0;
    loop {
        if quoting && bytes.get(position) == Some(&b'"') {
            let mut value = String::new();
            let mut cursor = position + 1;
            loop {
                let Some(offset) = memchr::memchr(b'"', &bytes[cursor..]) else {
                    return Err(RowError::new("bad_quoting", None, "a quoted field is not closed"));
                };
                value.push_str(&record[cursor..cursor + offset]);
                cursor += offset + 1;
                if bytes.get(cursor) == Some(&b'"') {
                    value.push('"');
                    cursor += 1;
                } else {
                    break;
                }
            }
            fields.push(Cow::Owned(value));
            match bytes.get(cursor) {
                None => return Ok(()),
                Some(&b) if b == separator => position = cursor + 1,
                Some(_) => {
                    return Err(RowError::new(
                        "bad_quoting",
                        None,
                        format!("text after a closing quote at byte {cursor}"),
                    ));
                }
            }
        } else {
            match memchr::memchr(separator, &bytes[position..]) {
                Some(offset) => {
                    fields.push(Cow::Borrowed(&record[position..position + offset]));
                    position += offset + 1;
                }
                None => {
                    fields.push(Cow::Borrowed(&record[position..]));
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str, quoting: bool) -> Vec<(String, u64, bool, bool)> {
        let buf = input.as_bytes();
        let mut out = Vec::new();
        let mut position = 0;
        while position < buf.len() {
            let span = next_record(buf, position, quoting, true).unwrap();
            out.push((
                input[span.start..span.end].to_string(),
                span.lines,
                span.unterminated_quote,
                span.at_eof_without_newline,
            ));
            position = span.next;
        }
        out
    }

    #[test]
    fn lines_crlf_and_missing_final_newline() {
        let got = records("a,b\r\nc,d\ne", false);
        assert_eq!(
            got,
            vec![
                ("a,b".into(), 1, false, false),
                ("c,d".into(), 1, false, false),
                ("e".into(), 1, false, true)
            ]
        );
    }

    #[test]
    fn quoted_newlines_join_lines_but_a_runaway_quote_stays_on_its_line() {
        let got = records("1,\"two\nlines\",3\n4,5\n", true);
        assert_eq!(got[0], ("1,\"two\nlines\",3".into(), 2, false, false));
        assert_eq!(got[1], ("4,5".into(), 1, false, false));
        let mut input = String::from("1,\"never closed\n");
        for i in 0..100 {
            input.push_str(&format!("{i},x\n"));
        }
        let got = records(&input, true);
        assert_eq!(got[0], ("1,\"never closed".into(), 1, true, false));
        assert_eq!(got[1].0, "0,x");
        assert_eq!(got.len(), 101);
    }

    #[test]
    fn fields() {
        let check = |record: &str, delimiter, expect: Result<Vec<&str>, &str>| {
            let mut fields = Vec::new();
            let got = split_fields(record, delimiter, true, &mut fields)
                .map(|()| fields.iter().map(|f| f.to_string()).collect::<Vec<_>>())
                .map_err(|e| e.code);
            let expect =
                expect.map(|v| v.into_iter().map(str::to_string).collect()).map_err(str::to_string);
            assert_eq!(got, expect, "{record:?}");
        };
        let comma = Delimiter::Byte(b',');
        check("a,b,,c", comma, Ok(vec!["a", "b", "", "c"]));
        check("\"x, y\",\"he said \"\"hi\"\"\",z", comma, Ok(vec!["x, y", "he said \"hi\"", "z"]));
        check("\"a\"b,c", comma, Err("bad_quoting"));
        check("\"open,c", comma, Err("bad_quoting"));
        check("", comma, Ok(vec![""]));
        check(
            " 00001 19970101  1   11.77",
            Delimiter::Whitespace,
            Ok(vec!["00001", "19970101", "1", "11.77"]),
        );
        check(
            "1;NA;81766;526309;2016-05-09",
            Delimiter::Byte(b';'),
            Ok(vec!["1", "NA", "81766", "526309", "2016-05-09"]),
        );
    }

    #[test]
    fn chunks_end_on_record_boundaries() {
        let mut input = String::new();
        for i in 0..1000 {
            input.push_str(&format!("{i},\"multi\nline {i}\",x\n"));
        }
        let mut reader = ChunkReader::new(input.as_bytes(), true, 1000);
        let mut joined = Vec::new();
        let mut expected_line = 1;
        while let Some(chunk) = reader.next_chunk().unwrap() {
            assert_eq!(chunk.first_line, expected_line);
            let text = std::str::from_utf8(&chunk.data).unwrap();
            assert!(text.ends_with("x\n"), "{text:?}");
            expected_line += text.matches('\n').count() as u64;
            joined.extend_from_slice(&chunk.data);
        }
        assert_eq!(joined, input.as_bytes());
    }
}
