//! The server's side of the demo: a learned decoder (the attack of
//! `training/attack_decoder.py`, exported to ONNX) that rebuilds frames
//! from single encryptions and the class the server answered, through the
//! same ONNX Runtime as the classifier. It shows what a server could
//! rebuild; edgehide's server never runs it on requests.

use std::path::Path;
use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;

use crate::Runtime;
use crate::error::{Error, Result, rt};

/// A frame decoder: `encryption` [n, 1, H, W] f32 and `label` [n] i64 in,
/// `frame` [n, 1, H, W] in [0, 1] out.
pub struct Rebuilder {
    session: Mutex<Session>,
    height: usize,
    width: usize,
}

impl std::fmt::Debug for Rebuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rebuilder({}x{})", self.height, self.width)
    }
}

impl Rebuilder {
    /// Loads the decoder at `onnx`, checking its inputs and output.
    pub fn load(runtime: Runtime, onnx: &Path) -> Result<Rebuilder> {
        if !onnx.is_file() {
            return Err(Error::Io {
                path: onnx.to_path_buf(),
                cause: std::io::Error::new(std::io::ErrorKind::NotFound, "decoder not found"),
            });
        }
        let session = Session::builder(runtime.env())
            .map_err(rt)?
            .commit_from_file(onnx)
            .map_err(|e| Error::Runtime(format!("{}: {e}", onnx.display())))?;
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        if names != ["encryption", "label"] || session.outputs().is_empty() {
            return Err(Error::ModelMismatch(format!(
                "a decoder takes (encryption, label); this takes {names:?}"
            )));
        }
        let shape: Vec<i64> = session.inputs()[0]
            .dtype()
            .tensor_shape()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        let [_, 1, h, w] = shape[..] else {
            return Err(Error::ModelMismatch(format!(
                "decoder input is {shape:?}, expected [n, 1, H, W]"
            )));
        };
        let (height, width) = (
            usize::try_from(h).unwrap_or(0),
            usize::try_from(w).unwrap_or(0),
        );
        if height == 0 || width == 0 {
            return Err(Error::ModelMismatch(format!("decoder input is {shape:?}")));
        }
        Ok(Rebuilder {
            session: Mutex::new(session),
            height,
            width,
        })
    }

    /// The frame size it rebuilds, (height, width).
    pub fn size(&self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// Frames rebuilt from `encryptions` (laid end to end, one channel
    /// each) and the class the server answered for each.
    pub fn rebuild(&self, encryptions: &[f32], classes: &[usize]) -> Result<Vec<f32>> {
        let (n, plane) = (classes.len(), self.height * self.width);
        if n == 0 || encryptions.len() != n * plane {
            return Err(Error::Input(format!(
                "{} values for {n} encryptions of {}x{}",
                encryptions.len(),
                self.height,
                self.width
            )));
        }
        let shape = vec![n as i64, 1, self.height as i64, self.width as i64];
        let e = Tensor::from_array((shape, encryptions.to_vec())).map_err(rt)?;
        let labels: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
        let y = Tensor::from_array((vec![n as i64], labels)).map_err(rt)?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| Error::Runtime("session poisoned".into()))?;
        let outputs = session
            .run(ort::inputs!["encryption" => e, "label" => y])
            .map_err(rt)?;
        let (_, data) = outputs[0].try_extract_tensor::<f32>().map_err(rt)?;
        if data.len() != n * plane || data.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFiniteOutput);
        }
        Ok(data.to_vec())
    }
}
