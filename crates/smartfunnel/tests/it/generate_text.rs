//! `smartfunnel text generate`: the template writer, missing weights, and an
//! OpenAI-compatible endpoint played by a fake server on the loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use super::{json, path, smartfunnel};

fn write_facts(dir: &Path) -> std::path::PathBuf {
    let facts = dir.join("facts.json");
    let text = json!({
        "subject": "Champions",
        "numbers": [
            {"key": "share", "label": "share of users", "value": 0.123, "unit": "percent"},
            {"key": "aov", "label": "average order value", "value": 84.5, "unit": "money", "currency": "$"}
        ],
        "traits": ["loyal"],
        "words": [{"key": "action", "label": "recommended action", "value": "reward them with early access"}]
    });
    std::fs::write(&facts, text.to_string()).unwrap();
    facts
}

#[test]
fn text_generate_with_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let facts = write_facts(dir.path());
    let segment = json(&["text", "generate", "--facts", path(&facts), "--template", "--json"]);
    assert_eq!(segment["writer"], json!({"kind": "template"}));
    assert_eq!(segment["kind"], "segment");
    assert_eq!(
        segment["text"],
        "Champions: loyal. Share of users 12.3%, average order value $84.50. \
         Recommended action: reward them with early access."
    );
    assert!(segment["fallback"].is_null());
    let plain = smartfunnel(&[
        "text",
        "generate",
        "--facts",
        path(&facts),
        "--template",
        "--kind",
        "campaign",
    ]);
    assert!(plain.status.success());
    assert_eq!(
        String::from_utf8_lossy(&plain.stdout),
        "Reward them with early access. Share of users: 12.3%. Average order value: $84.50.\n"
    );
    assert!(String::from_utf8_lossy(&plain.stderr).contains("written by template"));
}

#[test]
fn text_generate_without_weights_says_which_command_fetches_them() {
    let dir = tempfile::tempdir().unwrap();
    let facts = write_facts(dir.path());
    let empty = dir.path().join("models");
    let fallback = json(&[
        "text",
        "generate",
        "--facts",
        path(&facts),
        "--models-dir",
        path(&empty),
        "--json",
    ]);
    assert_eq!(fallback["writer"], json!({"kind": "template"}));
    let note = fallback["note"].as_str().unwrap();
    assert!(note.contains("smartfunnel models fetch --model smollm2-135m-instruct"), "{note}");

    // A directory the user names must hold the weights.
    let out =
        smartfunnel(&["text", "generate", "--facts", path(&facts), "--model-dir", path(&empty)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("smartfunnel models fetch"), "{stderr}");

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"subject": "", "numbers": []}"#).unwrap();
    let out = smartfunnel(&["text", "generate", "--facts", path(&bad), "--template"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("bad.json") && stderr.contains("subject"),
        "{stderr}"
    );
}

/// A one-request OpenAI-compatible server: answers `content` and hands back
/// the request line, the headers and the JSON body it received.
fn fake_endpoint(content: &str) -> (String, std::thread::JoinHandle<(String, String, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = json!({
        "id": "chatcmpl-1", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
    })
    .to_string();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut headers = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            headers.push_str(&line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        (request_line, headers, serde_json::from_slice(&body).unwrap())
    });
    (url, handle)
}

fn generate_via(url: &str, facts: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_smartfunnel"))
        .args(["text", "generate", "--facts", path(facts), "--json"])
        .args(["--llm-endpoint", url, "--llm-model", "shop-writer", "--max-tokens", "60"])
        .env("SMARTFUNNEL_LLM_API_KEY", "test-key")
        .output()
        .unwrap()
}

#[test]
fn text_generate_through_an_openai_compatible_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let facts = write_facts(dir.path());

    let (url, server) = fake_endpoint("Champions are {share} of users and spend {aov} per order.");
    let out = generate_via(&url, &facts);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(written["text"], "Champions are 12.3% of users and spend $84.50 per order.");
    assert_eq!(written["writer"]["kind"], "endpoint");
    assert_eq!(written["writer"]["model"], "shop-writer");
    let (request_line, headers, body) = server.join().unwrap();
    assert!(request_line.starts_with("POST /v1/chat/completions "), "{request_line}");
    assert!(headers.to_ascii_lowercase().contains("authorization: bearer test-key"), "{headers}");
    assert_eq!(body["model"], "shop-writer");
    assert_eq!(body["max_tokens"], 60);
    assert_eq!(body["messages"][0]["role"], "system");
    let request = body["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap();
    assert!(request.contains("{share}") && !request.contains("12.3"), "{request}");

    // An invented number: the template writes instead, and the JSON says why.
    let (url, server) = fake_endpoint("Champions are 37% of users.");
    let out = generate_via(&url, &facts);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.join().unwrap();
    let written: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(written["writer"], json!({"kind": "template"}));
    assert_eq!(
        written["fallback"]["rejection"],
        json!({"reason": "invented_number", "detail": "37"})
    );
    assert_eq!(written["fallback"]["draft"], "Champions are 37% of users.");
    assert!(!written["text"].as_str().unwrap().contains("37"));
}
