//! One ONNX model file behind a session: named f32 inputs in, named outputs copied out.
//!
//! Inputs are borrowed (no copy into ONNX Runtime) and checked against the shapes the
//! manifest promises, so a model that does not fit the contract fails with its file name
//! rather than deep inside ONNX Runtime.

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::TensorRef;

use super::manifest::{Dim, Manifest, ModelEntry};
use super::runtime::{Threads, open_session};
use crate::{Error, Result};

/// A named input: its shape and its data (row-major).
pub struct Input<'a> {
    /// Name in the graph.
    pub name: &'static str,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: &'a [f32],
}

/// One output tensor copied out of ONNX Runtime.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values, f32 (an i64 output is converted).
    pub data: Vec<f32>,
}

/// An opened model and its manifest entry.
pub struct OnnxModel {
    path: PathBuf,
    entry: ModelEntry,
    session: Session,
}

impl OnnxModel {
    /// Opens model `key` of `manifest`.
    pub fn open(manifest: &Manifest, key: &str, threads: Threads) -> Result<Self> {
        let entry = manifest.model(key)?.clone();
        let path = manifest.dir.join(&entry.file);
        let session = open_session(&path, threads)?;
        for spec in &entry.inputs {
            if !session.inputs().iter().any(|o| o.name() == spec.name) {
                return Err(Error::Model {
                    path,
                    reason: format!(
                        "the manifest lists input `{}` that the graph lacks",
                        spec.name
                    ),
                });
            }
        }
        Ok(Self { path, entry, session })
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the model; returns the outputs named in `outputs`, in that order.
    pub fn run(&mut self, inputs: &[Input<'_>], outputs: &[&str]) -> Result<Vec<Output>> {
        let path = self.path.clone();
        let err = |reason: String| Error::Model { path: path.clone(), reason };
        let mut values = Vec::with_capacity(inputs.len());
        for input in inputs {
            if let Some(spec) = self.entry.inputs.iter().find(|s| s.name == input.name) {
                let fits = spec.shape.len() == input.shape.len()
                    && spec.shape.iter().zip(&input.shape).all(|(d, &n)| match d {
                        Dim::Fixed(k) => *k == n,
                        Dim::Named(_) => true,
                    });
                if !fits {
                    return Err(err(format!(
                        "input `{}` of shape {:?} does not fit {:?}",
                        input.name, input.shape, spec.shape
                    )));
                }
            }
            if input.shape.iter().product::<usize>() != input.data.len() {
                return Err(err(format!(
                    "input `{}`: {} values for shape {:?}",
                    input.name,
                    input.data.len(),
                    input.shape
                )));
            }
            let tensor = TensorRef::from_array_view((input.shape.clone(), input.data))
                .map_err(|e| err(format!("input `{}`: {e}", input.name)))?;
            values.push((input.name, tensor));
        }
        let feed: Vec<(std::borrow::Cow<'_, str>, ort::session::SessionInputValue<'_>)> =
            values.into_iter().map(|(n, t)| (n.into(), t.into())).collect();
        let out = self.session.run(feed).map_err(|e| err(format!("inference failed: {e}")))?;
        outputs
            .iter()
            .map(|&name| {
                let value = out
                    .get(name)
                    .ok_or_else(|| err(format!("the graph has no output `{name}`")))?;
                if let Ok((shape, data)) = value.try_extract_tensor::<f32>() {
                    Ok(Output {
                        shape: shape.iter().map(|&d| d as usize).collect(),
                        data: data.to_vec(),
                    })
                } else {
                    let (shape, data) = value
                        .try_extract_tensor::<i64>()
                        .map_err(|e| err(format!("output `{name}`: {e}")))?;
                    Ok(Output {
                        shape: shape.iter().map(|&d| d as usize).collect(),
                        data: data.iter().map(|&x| x as f32).collect(),
                    })
                }
            })
            .collect()
    }
}
