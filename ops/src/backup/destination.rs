//! Where backups go (temporary local-directory version; replaced by the S3-capable one).

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub enum DestinationConfig {
    Local {
        dir: PathBuf,
    },
    S3 {
        bucket: String,
        prefix: String,
        endpoint: Option<String>,
        region: String,
        access_key_id: String,
        secret_access_key: String,
        allow_http: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("the destination {destination} could not be reached: {cause}")]
    Unreachable { destination: String, cause: String },
    #[error("{name} is not in {destination}")]
    NotFound { destination: String, name: String },
    #[error("the destination {destination} refused: {cause}")]
    Refused { destination: String, cause: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

pub struct ObjectInfo {
    pub name: String,
    pub size: u64,
    pub modified: jiff::Timestamp,
}

#[derive(Clone)]
pub struct Destination {
    dir: PathBuf,
}

impl Destination {
    pub fn open(config: &DestinationConfig) -> Result<Destination, DestinationError> {
        match config {
            DestinationConfig::Local { dir } => {
                std::fs::create_dir_all(dir)?;
                Ok(Destination { dir: dir.clone() })
            }
            DestinationConfig::S3 { .. } => Err(DestinationError::Config("S3 is not built in yet".into())),
        }
    }

    pub fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    pub async fn put_file(&self, name: &str, path: &Path) -> Result<u64, DestinationError> {
        let tmp = self.dir.join(format!(".{name}.part"));
        let n = tokio::fs::copy(path, &tmp).await?;
        tokio::fs::rename(&tmp, self.dir.join(name)).await?;
        Ok(n)
    }

    pub async fn put_bytes(&self, name: &str, bytes: Vec<u8>) -> Result<(), DestinationError> {
        let tmp = self.dir.join(format!(".{name}.part"));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, self.dir.join(name)).await?;
        Ok(())
    }

    pub async fn get_to_file(&self, name: &str, path: &Path) -> Result<u64, DestinationError> {
        tokio::fs::copy(self.dir.join(name), path).await.map_err(|e| self.missing(name, e))
    }

    pub async fn get_bytes(&self, name: &str) -> Result<Vec<u8>, DestinationError> {
        tokio::fs::read(self.dir.join(name)).await.map_err(|e| self.missing(name, e))
    }

    fn missing(&self, name: &str, e: std::io::Error) -> DestinationError {
        if e.kind() == std::io::ErrorKind::NotFound {
            DestinationError::NotFound { destination: self.describe(), name: name.to_owned() }
        } else {
            e.into()
        }
    }

    pub async fn list(&self) -> Result<Vec<ObjectInfo>, DestinationError> {
        let mut out = Vec::new();
        let mut rd = tokio::fs::read_dir(&self.dir).await?;
        while let Some(e) = rd.next_entry().await? {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let md = e.metadata().await?;
            let modified = md
                .modified()
                .ok()
                .and_then(|t| jiff::Timestamp::try_from(t).ok())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            out.push(ObjectInfo { name, size: md.len(), modified });
        }
        Ok(out)
    }

    pub async fn delete(&self, name: &str) -> Result<(), DestinationError> {
        match tokio::fs::remove_file(self.dir.join(name)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
