//! Encrypt-and-classify against a remote Open Inference Protocol server.
//!
//! [`AsyncClient::connect`] reads the model's metadata once. It works with
//! any server of the protocol (edgehide's own, Triton, KServe, MLServer):
//! the app ships the model's sidecar, and the client checks what the server
//! announces (the input's name, shape and type). When the server also
//! announces an edgehide spec (edgehide's server in the model's metadata, a
//! Triton model configuration in its `parameters`), a server whose model
//! expects another scheme, geometry, normalisation or encryption
//! parameters than the local [`Encryptor`] is refused: a mismatch would not
//! fail loudly, it would only classify badly. Each frame then gets a fresh
//! key; only its encryption is sent (binary tensor data where the server
//! takes it, JSON otherwise; f32 or f16).
//!
//! Retries resend the *same* bytes. Encrypting the frame again with a new
//! key would hand the server a second encryption of one frame, which is
//! what the known attacks need.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

mod ahead;
#[cfg(feature = "grpc")]
mod grpc;

use edgehide_oip::{self as oip, ErrorBody, SCHEME_PARAMETER, SPEC_PARAMETER};
pub use edgehide_oip::{ModelMetadata, Payload};

use crate::backend::Backend;
use crate::encrypt::{Encryption, Encryptor};
use crate::error::{Error, Result};
use crate::frame::PlainTensor;
use crate::scene::{Admission, SceneConfig, SceneGuard};
use crate::spec::ModelSpec;

/// Client settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Per attempt, connection and answer included.
    pub timeout: Duration,
    /// Further attempts after a transport failure, 503 or 504.
    pub retries: u32,
    /// Element type on the wire.
    pub payload: Payload,
    /// How tensors travel: binary where the server takes it, by default.
    /// (gRPC always sends raw bytes.)
    pub encoding: Encoding,
    /// The protocol's REST binding (default) or its gRPC service.
    pub protocol: Protocol,
    /// Labels returned per frame, most likely first.
    pub top_k: usize,
    /// Prepare the next frame's key (draw it, mix its crops into a pad,
    /// expand its mask) on a background thread after each answer, so that
    /// the request path only runs the frame's pass ([`Encryptor::prepare`]).
    /// For clients with idle time between frames and a CPU encryptor;
    /// ignored on the GPU and for batches. A caller that sends frames back
    /// to back gets no background work (it would land on the next request:
    /// 1.22-1.29x the plain round trip measured so, against 1.08x when
    /// encrypting on the path; benches/RESULTS.md) until it pauses again.
    /// Off by default: it holds the next key in memory between frames, and
    /// for large frames the two halves cost more than one pass.
    pub prepare_ahead: bool,
    /// Extra trusted root certificates (PEM; a bundle of several is fine)
    /// for `https` servers, beside the platform's.
    pub tls_roots_pem: Option<Vec<u8>>,
    /// Frames sent per request at most; larger batches go in several
    /// requests (edgehide's server takes `--max-frames`, 64 by default).
    pub max_frames_per_request: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(10),
            retries: 2,
            payload: Payload::F32,
            encoding: Encoding::Auto,
            protocol: Protocol::Rest,
            top_k: 3,
            prepare_ahead: false,
            tls_roots_pem: None,
            max_frames_per_request: 64,
        }
    }
}

/// How tensors travel in requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// Binary where the server takes it, JSON otherwise; decided once at
    /// connect: binary when the server lists the `binary_tensor_data`
    /// extension or answers a binary request of one zero tensor.
    #[default]
    Auto,
    /// The protocol's binary tensor data extension (edgehide's server,
    /// Triton, KServe).
    Binary,
    /// JSON tensors, which every server of the protocol takes (MLServer
    /// takes only these).
    Json,
}

/// Which binding of the protocol the client speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// HTTP/1.1 with JSON or binary tensors; `http` and `https`.
    #[default]
    Rest,
    /// The `inference.GRPCInferenceService` over HTTP/2 without TLS
    /// (edgehide's server with `--grpc-addr`, Triton, KServe). Needs the
    /// library's `grpc` feature.
    Grpc,
}

/// Where the spec the client checked the server against came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecSource {
    /// The model's metadata (edgehide's server).
    Metadata,
    /// The model's configuration, `GET /v2/models/{name}/config` (Triton).
    Config,
    /// The server announces none: the local sidecar is taken as the
    /// model's, and only the input tensor is checked.
    Local,
}

/// One frame's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    /// The model's scores, one per label.
    pub logits: Vec<f32>,
    /// `(class index, label, softmax probability)`, most likely first.
    pub top: Vec<(usize, String, f32)>,
}

impl Classification {
    /// The most likely class.
    pub fn class(&self) -> usize {
        self.top.first().map(|t| t.0).unwrap_or(0)
    }
    /// The most likely label.
    pub fn label(&self) -> &str {
        self.top.first().map(|t| t.1.as_str()).unwrap_or("")
    }
}

/// An async client bound to one model on one server.
pub struct AsyncClient {
    http: reqwest::Client,
    infer_url: String,
    metadata: ModelMetadata,
    remote: ModelSpec,
    source: SpecSource,
    /// The gRPC transport, when the client speaks gRPC.
    #[cfg(feature = "grpc")]
    grpc: Option<grpc::GrpcLink>,
    /// `Binary` or `Json`, decided at connect.
    encoding: Encoding,
    encryptor: Arc<Encryptor>,
    config: ClientConfig,
    /// The next frame's prepared key (`ClientConfig::prepare_ahead`).
    ahead: Arc<ahead::Ahead>,
}

impl std::fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AsyncClient({})", self.infer_url)
    }
}

fn transport(e: reqwest::Error) -> Error {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    Error::Transport(format!("{what}: {e}"))
}

/// The spec a server announces for a model: in its metadata's
/// `parameters` (edgehide's server) or in a configuration's `parameters`
/// in Triton's JSON form (`{"edgehide_spec": {"string_value": "..."}}`).
fn announced_spec(
    parameters: &serde_json::Map<String, serde_json::Value>,
) -> Option<(Option<String>, String)> {
    let text = |key: &str| {
        let v = parameters.get(key)?;
        v.as_str()
            .or_else(|| v.get("string_value").and_then(|s| s.as_str()))
            .map(str::to_string)
    };
    Some((text(SCHEME_PARAMETER), text(SPEC_PARAMETER)?))
}

/// Whether the local encryptor produces what the server's model expects:
/// the announced spec (when there is one) against the local one, and the
/// input tensor the server names against the local geometry.
fn check_compatible(
    meta: &ModelMetadata,
    announced: Option<(Option<String>, String)>,
    local: &ModelSpec,
) -> Result<ModelSpec> {
    let input_ok = meta.inputs.len() == 1
        && meta.inputs[0].shape.len() == 4
        && meta.inputs[0].shape[1..] == local.geometry().shape().map(|d| d as i64).as_slice()[..]
        && matches!(meta.inputs[0].datatype.as_str(), "FP32" | "FP16");
    if !input_ok {
        return Err(Error::ServerMismatch(format!(
            "the server's model takes {:?}; the local spec needs one FP32 input of shape [-1, {}, {}, {}]",
            meta.inputs,
            local.geometry().channels,
            local.geometry().height,
            local.geometry().width
        )));
    }
    let Some((scheme, text)) = announced else {
        return Ok(local.clone());
    };
    let ours = local.scheme().name();
    if scheme.as_deref() != Some(ours) {
        return Err(Error::ServerMismatch(format!(
            "scheme {scheme:?}, the local encryptor uses {ours:?}"
        )));
    }
    let remote = ModelSpec::from_json(&text)?;
    let mismatch = |what: &str, theirs: String, ours: String| {
        Err(Error::ServerMismatch(format!(
            "{what}: the server's model expects {theirs}, the local encryptor uses {ours}"
        )))
    };
    if remote.geometry() != local.geometry() {
        return mismatch(
            "geometry",
            format!("{:?}", remote.geometry().shape()),
            format!("{:?}", local.geometry().shape()),
        );
    }
    if remote.mean() != local.mean() || remote.std() != local.std() {
        return mismatch(
            "normalisation",
            format!("mean {:?} std {:?}", remote.mean(), remote.std()),
            format!("mean {:?} std {:?}", local.mean(), local.std()),
        );
    }
    if remote.params() != local.params() {
        return mismatch(
            "encryption parameters",
            format!("{:?}", remote.params()),
            format!("{:?}", local.params()),
        );
    }
    if remote.disguise() != local.disguise() {
        return mismatch(
            "disguise parameters",
            format!("{:?}", remote.disguise()),
            format!("{:?}", local.disguise()),
        );
    }
    if let (Some(r), Some(l)) = (remote.pool_fingerprint(), local.pool_fingerprint())
        && r != l
    {
        return mismatch("public corpus", r.to_string(), l.to_string());
    }
    Ok(remote)
}

/// The spec in a Triton model configuration (`GET .../config`), where the
/// server has that route and the configuration carries one.
async fn model_config(
    http: &reqwest::Client,
    meta_url: &str,
) -> Result<Option<(Option<String>, String)>> {
    let Ok(resp) = http.get(format!("{meta_url}/config")).send().await else {
        return Ok(None);
    };
    if !resp.status().is_success() {
        return Ok(None);
    }
    let Ok(config) = resp.json::<serde_json::Value>().await else {
        return Ok(None);
    };
    Ok(config
        .get("parameters")
        .and_then(|p| p.as_object())
        .and_then(announced_spec))
}

/// Softmax top-k of one frame's logits.
fn top_k(logits: &[f32], labels: &[String], k: usize) -> Vec<(usize, String, f32)> {
    let p = crate::scores::softmax(logits);
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    order
        .into_iter()
        .take(k.max(1))
        .map(|i| (i, labels.get(i).cloned().unwrap_or_default(), p[i]))
        .collect()
}

impl AsyncClient {
    /// Reads `model`'s metadata from the server at `base_url` (e.g.
    /// `http://127.0.0.1:8000`) and checks it against `encryptor`.
    pub async fn connect(
        base_url: &str,
        model: &str,
        encryptor: Arc<Encryptor>,
        config: ClientConfig,
    ) -> Result<AsyncClient> {
        // reqwest is built without a default TLS crypto provider; pick ring
        // (already installed is fine).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder().timeout(config.timeout);
        if let Some(pem) = &config.tls_roots_pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::params("tls_roots_pem", e.to_string()))?;
            if roots.is_empty() {
                return Err(Error::params("tls_roots_pem", "no certificate in the PEM"));
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder.build().map_err(transport)?;
        let base = base_url.trim_end_matches('/');
        let meta_url = format!("{base}/v2/models/{model}");
        #[cfg(feature = "grpc")]
        let mut grpc_link = None;
        let metadata: ModelMetadata = match config.protocol {
            Protocol::Rest => {
                let resp = http.get(&meta_url).send().await.map_err(transport)?;
                let status = resp.status();
                let body = resp.bytes().await.map_err(transport)?;
                if !status.is_success() {
                    return Err(server_error(status.as_u16(), &body));
                }
                serde_json::from_slice(&body)
                    .map_err(|e| Error::Protocol(format!("model metadata: {e}")))?
            }
            #[cfg(feature = "grpc")]
            Protocol::Grpc => {
                let (link, metadata) = grpc::connect(base, model, config.timeout).await?;
                grpc_link = Some(link);
                metadata
            }
            #[cfg(not(feature = "grpc"))]
            Protocol::Grpc => {
                return Err(Error::params(
                    "protocol",
                    "gRPC needs the library's grpc feature",
                ));
            }
        };
        let (announced, source) = match announced_spec(&metadata.parameters) {
            Some(a) => (Some(a), SpecSource::Metadata),
            None if config.protocol == Protocol::Rest => {
                match model_config(&http, &meta_url).await? {
                    Some(a) => (Some(a), SpecSource::Config),
                    None => (None, SpecSource::Local),
                }
            }
            None => (None, SpecSource::Local),
        };
        let remote = check_compatible(&metadata, announced, encryptor.spec())?;
        let mut client = AsyncClient {
            http,
            infer_url: format!("{meta_url}/infer"),
            metadata,
            remote,
            source,
            #[cfg(feature = "grpc")]
            grpc: grpc_link,
            encoding: Encoding::Binary,
            encryptor,
            config,
            ahead: Arc::default(),
        };
        client.encoding = match (client.config.protocol, client.config.encoding) {
            (Protocol::Grpc, _) => Encoding::Binary,
            (_, Encoding::Auto) => client.negotiate_encoding(base).await?,
            (_, chosen) => chosen,
        };
        Ok(client)
    }

    /// Binary when the server lists the extension or answers a binary
    /// request of one zero tensor (not a frame: nothing private), JSON
    /// when it refuses that request.
    async fn negotiate_encoding(&mut self, base: &str) -> Result<Encoding> {
        if let Ok(resp) = self.http.get(format!("{base}/v2")).send().await
            && resp.status().is_success()
            && let Ok(server) = resp.json::<oip::ServerMetadata>().await
            && server.extensions.iter().any(|e| e == "binary_tensor_data")
        {
            return Ok(Encoding::Binary);
        }
        let zero = vec![0f32; self.remote.geometry().len()];
        self.encoding = Encoding::Binary;
        match self.infer_tensors(&zero, 1).await {
            Ok(_) => Ok(Encoding::Binary),
            Err(Error::Server { status, .. }) if (400..500).contains(&status) => {
                self.encoding = Encoding::Json;
                self.infer_tensors(&zero, 1).await?;
                Ok(Encoding::Json)
            }
            Err(e) => Err(e),
        }
    }

    /// How tensors travel to this server (binary or JSON).
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Where the spec the server was checked against came from.
    pub fn spec_source(&self) -> SpecSource {
        self.source
    }

    /// The model's metadata as the server announced it.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// The server model's sidecar (labels, parameters).
    pub fn remote_spec(&self) -> &ModelSpec {
        &self.remote
    }

    /// Encrypts `frame` with a fresh key and classifies the encryption.
    pub async fn classify(&self, frame: &PlainTensor) -> Result<Classification> {
        let mut out = self.classify_batch(std::slice::from_ref(frame)).await?;
        out.pop()
            .ok_or_else(|| Error::Protocol("empty answer".into()))
    }

    /// Encrypts each frame with its own fresh key (on the GPU when the
    /// encryptor has one) and classifies them in one request.
    pub async fn classify_batch(&self, frames: &[PlainTensor]) -> Result<Vec<Classification>> {
        // Encrypted straight into the request's tensor buffer. The encryptor's
        // geometry was matched to the server's at connect time.
        let mut data = vec![0f32; frames.len() * self.remote.geometry().len()];
        let split = self.config.prepare_ahead
            && frames.len() == 1
            && self.encryptor.backend() == Backend::Cpu;
        if !split {
            self.encryptor.encrypt_fresh_into(frames, &mut data)?;
            return self.classify_tensors(&data, frames.len()).await;
        }
        let paused = self.ahead.caller_paused();
        match self.ahead.take() {
            Some(key) => self
                .encryptor
                .encrypt_prepared_into(&frames[0], key, &mut data)?,
            None => {
                // The same work as a preparation, timed as one: a slow
                // first preparation (a cold thread) must not keep a caller
                // with shorter pauses from ever preparing again.
                let start = std::time::Instant::now();
                self.encryptor.encrypt_fresh_into(frames, &mut data)?;
                self.ahead.took(start.elapsed());
            }
        }
        let answer = self.classify_tensors(&data, 1).await;
        // Stamped before the preparation starts: a caller that waits for
        // the key to be ready has then always paused as long as it took.
        self.ahead.answered();
        if paused {
            self.ahead.prepare_next(self.encryptor.clone());
        }
        answer
    }

    /// Whether the next frame's key is already prepared
    /// (`ClientConfig::prepare_ahead`): false before the first answer,
    /// while the background work still runs, and while the caller sends
    /// frames back to back (then nothing is prepared).
    pub fn key_ready(&self) -> bool {
        self.ahead.ready()
    }

    /// Encrypts `frame` with a fresh key, classifies the encryption, and
    /// returns it too: what the server saw, for a status screen.
    pub async fn classify_shown(
        &self,
        frame: &PlainTensor,
    ) -> Result<(Classification, Encryption)> {
        let encryption = self.encryptor.encrypt_fresh(frame)?;
        let mut answer = self
            .classify_encrypted(std::slice::from_ref(&encryption))
            .await?;
        let answer = answer
            .pop()
            .ok_or_else(|| Error::Protocol("empty answer".into()))?;
        Ok((answer, encryption))
    }

    /// Classifies encryptions made earlier by this client's encryptor.
    pub async fn classify_encrypted(&self, encs: &[Encryption]) -> Result<Vec<Classification>> {
        let mut data = Vec::with_capacity(encs.iter().map(|e| e.data().len()).sum());
        for e in encs {
            if e.geometry() != self.remote.geometry() {
                return Err(Error::ShapeMismatch {
                    expected: self.remote.geometry().shape(),
                    got: e.shape(),
                });
            }
            data.extend_from_slice(e.data());
        }
        self.classify_tensors(&data, encs.len()).await
    }

    /// Classifies `n` tensors laid end to end, sent as they are, in requests
    /// of at most `ClientConfig::max_frames_per_request` frames: for
    /// encryptions made earlier with the same spec (`edgehide encrypt`
    /// saves them), never for frames.
    pub async fn classify_tensors(&self, data: &[f32], n: usize) -> Result<Vec<Classification>> {
        let per = self.remote.geometry().len();
        if n == 0 || data.len() != n * per {
            return Err(Error::ShapeMismatch {
                expected: self.remote.geometry().shape(),
                got: [data.len(), n, 0],
            });
        }
        let classes = self.remote.labels().len().max(1);
        let mut out = Vec::with_capacity(n);
        let frames = self.config.max_frames_per_request.max(1);
        for chunk in data.chunks(frames * per) {
            let logits = self.infer_tensors(chunk, chunk.len() / per).await?;
            out.extend(logits.chunks_exact(classes).map(|l| Classification {
                logits: l.to_vec(),
                top: top_k(l, self.remote.labels(), self.config.top_k),
            }));
        }
        Ok(out)
    }

    /// Sends `n` tensors laid end to end as they are and returns the logits.
    /// Nothing is encrypted here: for encryptions made elsewhere, and for
    /// measuring the protocol's own cost.
    pub async fn infer_tensors(&self, data: &[f32], n: usize) -> Result<Vec<f32>> {
        let g = self.remote.geometry();
        if n == 0 || data.len() != n * g.len() {
            return Err(Error::ShapeMismatch {
                expected: g.shape(),
                got: [data.len(), n, 0],
            });
        }
        let shape = [n, g.channels, g.height, g.width];
        let classes = self.remote.labels().len();
        #[cfg(feature = "grpc")]
        if let Some(link) = &self.grpc {
            let outputs = link
                .infer(
                    &self.metadata.inputs[0].name,
                    &shape,
                    self.config.payload.datatype(),
                    data,
                    self.metadata.outputs.first().map(|o| o.name.as_str()),
                    self.config.retries,
                )
                .await?;
            return logits_of(outputs, n, classes);
        }
        let binary = self.encoding == Encoding::Binary;
        let req = oip::encode_request_for(
            None,
            &self.metadata.inputs[0].name,
            &shape,
            self.config.payload.datatype(),
            data,
            self.metadata.outputs.first().map(|o| o.name.as_str()),
            binary,
        );
        let (body, header_len) = self.post(req, binary).await?;
        let outputs = oip::decode_response(&body, header_len).map_err(|e| Error::Protocol(e.0))?;
        logits_of(outputs, n, classes)
    }

    async fn post(&self, req: oip::Encoded, binary: bool) -> Result<(bytes::Bytes, Option<usize>)> {
        let body = bytes::Bytes::from(req.body);
        let content_type = if binary {
            "application/octet-stream"
        } else {
            "application/json"
        };
        let mut attempt = 0;
        loop {
            let mut builder = self
                .http
                .post(&self.infer_url)
                .header("content-type", content_type)
                .body(body.clone());
            if let Some(n) = req.header_len {
                builder = builder.header(oip::HEADER_LENGTH, n);
            }
            let retry_in = match builder.send().await {
                Err(e) if attempt < self.config.retries && (e.is_connect() || e.is_timeout()) => {
                    Duration::from_millis(50 << attempt.min(6))
                }
                Err(e) => return Err(transport(e)),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    let header_len = resp
                        .headers()
                        .get(oip::HEADER_LENGTH)
                        .map(|v| oip::parse_header_length(v.as_bytes()))
                        .transpose()
                        .map_err(|e| Error::Protocol(e.0))?;
                    let bytes = resp.bytes().await.map_err(transport)?;
                    match status {
                        200 => return Ok((bytes, header_len)),
                        503 | 504 if attempt < self.config.retries => Duration::from_millis(
                            after
                                .map(|s| s.min(5) * 1000)
                                .unwrap_or(50 << attempt.min(6)),
                        ),
                        _ => return Err(server_error(status, &bytes)),
                    }
                }
            };
            attempt += 1;
            tokio::time::sleep(retry_in).await;
        }
    }
}

/// The first output's values, checked to be `n` rows of `classes` scores
/// (`classes` 0: whatever the server says).
fn logits_of(outputs: Vec<oip::Tensor>, n: usize, classes: usize) -> Result<Vec<f32>> {
    match outputs.into_iter().next() {
        Some(t)
            if t.shape.len() == 2 && t.shape[0] == n && (classes == 0 || t.shape[1] == classes) =>
        {
            Ok(t.data)
        }
        Some(t) => Err(Error::Protocol(format!(
            "output shape {:?}, expected [{n}, {classes}]",
            t.shape
        ))),
        None => Err(Error::Protocol("no output tensor".into())),
    }
}

fn server_error(status: u16, body: &[u8]) -> Error {
    let message = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_else(|_| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    Error::Server { status, message }
}

/// One video frame's answer under a scene budget.
#[derive(Clone, Debug, PartialEq)]
pub enum FrameAnswer {
    /// The frame was encrypted and classified.
    Fresh(Classification),
    /// Its scene had spent its budget: nothing was sent; this is the scene's
    /// last result.
    Reused(Classification),
    /// Its scene had spent its budget and has no result to reuse (budget 0,
    /// or the earlier request failed).
    Withheld,
}

/// A video frame's answer with what was sent for it.
#[derive(Debug)]
#[non_exhaustive]
pub struct ShownAnswer {
    /// The answer.
    pub answer: FrameAnswer,
    /// The encryption sent (none when the scene's budget was spent).
    pub sent: Option<Encryption>,
    /// The frame's scene.
    pub scene: crate::scene::Hash,
}

/// Classifies a video stream under a [`SceneGuard`]: near-identical frames
/// count against their scene's budget of encryptions, and past it the last
/// result is reused instead of sending another encryption of the same scene.
#[derive(Debug)]
pub struct VideoSession {
    guard: SceneGuard,
    last: HashMap<crate::scene::Hash, Classification>,
}

impl VideoSession {
    /// A session with no scenes seen yet.
    pub fn new(config: SceneConfig) -> VideoSession {
        VideoSession {
            guard: SceneGuard::new(config),
            last: HashMap::new(),
        }
    }

    /// [`VideoSession::classify`], also returning the encryption sent and
    /// the frame's scene (for a status screen and its log). A frame whose
    /// request fails still counts against its scene's budget: the server
    /// may have received it.
    pub async fn classify_shown(
        &mut self,
        client: &AsyncClient,
        frame: &PlainTensor,
    ) -> Result<ShownAnswer> {
        let (admission, scene) = self.guard.admit(frame, std::time::Instant::now());
        match admission {
            Admission::Send => {
                let (answer, sent) = client.classify_shown(frame).await?;
                self.remember(scene, &answer);
                Ok(ShownAnswer {
                    answer: FrameAnswer::Fresh(answer),
                    sent: Some(sent),
                    scene,
                })
            }
            Admission::Withhold => Ok(ShownAnswer {
                answer: self.reuse(&scene),
                sent: None,
                scene,
            }),
        }
    }

    fn remember(&mut self, scene: crate::scene::Hash, answer: &Classification) {
        if self.last.len() > 1024 {
            let live: std::collections::HashSet<_> = self.guard.scene_ids().collect();
            self.last.retain(|id, _| live.contains(id));
        }
        self.last.insert(scene, answer.clone());
    }

    fn reuse(&self, scene: &crate::scene::Hash) -> FrameAnswer {
        match self.last.get(scene) {
            Some(c) => FrameAnswer::Reused(c.clone()),
            None => FrameAnswer::Withheld,
        }
    }

    /// Classifies `frame` through `client`, or reuses its scene's result.
    pub async fn classify(
        &mut self,
        client: &AsyncClient,
        frame: &PlainTensor,
    ) -> Result<FrameAnswer> {
        let (admission, scene) = self.guard.admit(frame, std::time::Instant::now());
        match admission {
            Admission::Send => {
                let answer = client.classify(frame).await?;
                self.remember(scene, &answer);
                Ok(FrameAnswer::Fresh(answer))
            }
            Admission::Withhold => Ok(self.reuse(&scene)),
        }
    }
}

/// The blocking client: [`AsyncClient`] on a private single-thread runtime.
/// Do not call it from inside an async runtime; use [`AsyncClient`] there.
pub struct Client {
    rt: tokio::runtime::Runtime,
    inner: AsyncClient,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl Client {
    /// See [`AsyncClient::connect`].
    pub fn connect(
        base_url: &str,
        model: &str,
        encryptor: Arc<Encryptor>,
        config: ClientConfig,
    ) -> Result<Client> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Transport(format!("cannot start a runtime: {e}")))?;
        let inner = rt.block_on(AsyncClient::connect(base_url, model, encryptor, config))?;
        Ok(Client { rt, inner })
    }
    /// See [`AsyncClient::metadata`].
    pub fn metadata(&self) -> &ModelMetadata {
        self.inner.metadata()
    }
    /// See [`AsyncClient::classify_tensors`].
    pub fn classify_tensors(&self, data: &[f32], n: usize) -> Result<Vec<Classification>> {
        self.rt.block_on(self.inner.classify_tensors(data, n))
    }
    /// See [`AsyncClient::encoding`].
    pub fn encoding(&self) -> Encoding {
        self.inner.encoding()
    }
    /// See [`AsyncClient::spec_source`].
    pub fn spec_source(&self) -> SpecSource {
        self.inner.spec_source()
    }
    /// See [`AsyncClient::remote_spec`].
    pub fn remote_spec(&self) -> &ModelSpec {
        self.inner.remote_spec()
    }
    /// See [`AsyncClient::classify`].
    pub fn classify(&self, frame: &PlainTensor) -> Result<Classification> {
        self.rt.block_on(self.inner.classify(frame))
    }
    /// See [`AsyncClient::key_ready`].
    pub fn key_ready(&self) -> bool {
        self.inner.key_ready()
    }
    /// See [`AsyncClient::classify_batch`].
    pub fn classify_batch(&self, frames: &[PlainTensor]) -> Result<Vec<Classification>> {
        self.rt.block_on(self.inner.classify_batch(frames))
    }
    /// See [`AsyncClient::classify_encrypted`].
    pub fn classify_encrypted(&self, encs: &[Encryption]) -> Result<Vec<Classification>> {
        self.rt.block_on(self.inner.classify_encrypted(encs))
    }
    /// See [`AsyncClient::infer_tensors`].
    pub fn infer_tensors(&self, data: &[f32], n: usize) -> Result<Vec<f32>> {
        self.rt.block_on(self.inner.infer_tensors(data, n))
    }
    /// See [`VideoSession::classify_shown`].
    pub fn classify_video_frame_shown(
        &self,
        session: &mut VideoSession,
        frame: &PlainTensor,
    ) -> Result<ShownAnswer> {
        self.rt.block_on(session.classify_shown(&self.inner, frame))
    }
    /// See [`VideoSession::classify`].
    pub fn classify_video_frame(
        &self,
        session: &mut VideoSession,
        frame: &PlainTensor,
    ) -> Result<FrameAnswer> {
        self.rt.block_on(session.classify(&self.inner, frame))
    }
}
