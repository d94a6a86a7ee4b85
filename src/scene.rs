//! The scene budget: a client-side guard for video.
//!
//! Near-identical frames (a still scene, sensor noise aside) are, to an
//! attacker, the same frame encrypted again, and every extra encryption of a
//! frame leaks more (docs/SECURITY.md: mean |e| over T encryptions rebuilds
//! the frame better as T grows, for every setting measured). So the guard
//! hashes each frame perceptually on the device, groups frames whose hashes
//! are close into a scene, and lets at most `budget` encryptions of a scene
//! leave the device per `window`. Past the budget the client sends nothing
//! and answers with the scene's last result until the scene changes.
//!
//! Default budget 1 per hour: for every setting measured (docs/SECURITY.md)
//! one encryption already leaks beyond the label and each further one leaks
//! more, so nothing supports a larger budget. The guard bounds how much a
//! still scene adds; it does not make the first encryption safe.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::frame::PlainTensor;

/// Guard settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SceneConfig {
    /// Encryptions of one scene allowed per window.
    pub budget: usize,
    /// The window over which the budget counts.
    pub window: Duration,
    /// Frames whose 256-bit hashes ([`ahash`]) differ in at most this many
    /// bits are the same scene.
    pub max_distance: u32,
    /// Scenes remembered (least recently seen forgotten first).
    pub max_scenes: usize,
}

impl Default for SceneConfig {
    fn default() -> Self {
        SceneConfig {
            budget: 1,
            window: Duration::from_secs(3600),
            max_distance: 12,
            max_scenes: 256,
        }
    }
}

/// What to do with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Encrypt and send it (it counted against its scene's budget).
    Send,
    /// Do not send: its scene has used its budget. Reuse the scene's last
    /// result.
    Withhold,
}

#[derive(Debug)]
struct Scene {
    hash: Hash,
    sent: VecDeque<Instant>,
    last_seen: Instant,
}

/// Remembers recent scenes and what they have spent. It holds 256-bit
/// hashes and times only, never pixels.
#[derive(Debug)]
pub struct SceneGuard {
    config: SceneConfig,
    scenes: Vec<Scene>,
}

impl SceneGuard {
    /// A guard with no scenes seen yet.
    pub fn new(config: SceneConfig) -> SceneGuard {
        SceneGuard {
            config,
            scenes: Vec::new(),
        }
    }

    /// Decides for `frame` (the preprocessed model input) seen at `now`.
    /// Also returns the scene's identifier (its first frame's hash), under
    /// which a caller can keep the scene's last result.
    pub fn admit(&mut self, frame: &PlainTensor, now: Instant) -> (Admission, Hash) {
        let g = frame.geometry();
        let hash = ahash(&frame.data()[..g.height * g.width], g.width, g.height);
        let window = self.config.window;
        let found = self
            .scenes
            .iter()
            .enumerate()
            .filter(|(_, s)| s.hash.distance(&hash) <= self.config.max_distance)
            .min_by_key(|(_, s)| s.hash.distance(&hash))
            .map(|(i, _)| i);
        let i = match found {
            Some(i) => i,
            None => {
                if self.scenes.len() >= self.config.max_scenes.max(1) {
                    let oldest = (0..self.scenes.len())
                        .min_by_key(|&i| self.scenes[i].last_seen)
                        .unwrap_or(0);
                    self.scenes.swap_remove(oldest);
                }
                self.scenes.push(Scene {
                    hash,
                    sent: VecDeque::new(),
                    last_seen: now,
                });
                self.scenes.len() - 1
            }
        };
        let scene = &mut self.scenes[i];
        scene.last_seen = now;
        while scene
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= window)
        {
            scene.sent.pop_front();
        }
        if scene.sent.len() < self.config.budget {
            scene.sent.push_back(now);
            (Admission::Send, scene.hash)
        } else {
            (Admission::Withhold, scene.hash)
        }
    }
}

impl SceneGuard {
    /// Identifiers of the scenes remembered now.
    pub fn scene_ids(&self) -> impl Iterator<Item = Hash> + '_ {
        self.scenes.iter().map(|s| s.hash)
    }
}

/// A 256-bit average hash: the plane area-averaged to 16 x 16 cells, one
/// bit per cell (is it brighter than the mean cell?). Sensor noise moves
/// few cells across the mean, while different items move many; the
/// threshold of 12 bits is checked on synthetic video in tests/scene.rs.
pub fn ahash(plane: &[f32], w: usize, h: usize) -> Hash {
    const G: usize = 16;
    let mut cells = [0f32; G * G];
    for (cy, row) in cells.chunks_exact_mut(G).enumerate() {
        let (y0, y1) = (cy * h / G, ((cy + 1) * h / G).max(cy * h / G + 1).min(h));
        for (cx, cell) in row.iter_mut().enumerate() {
            let (x0, x1) = (cx * w / G, ((cx + 1) * w / G).max(cx * w / G + 1).min(w));
            let (mut s, mut n) = (0.0f32, 0.0f32);
            for y in y0..y1 {
                for x in x0..x1 {
                    s += plane[y * w + x];
                    n += 1.0;
                }
            }
            *cell = s / n.max(1.0);
        }
    }
    let mean = cells.iter().sum::<f32>() / cells.len() as f32;
    let mut bits = [0u64; 4];
    for (i, &c) in cells.iter().enumerate() {
        if c > mean {
            bits[i / 64] |= 1 << (i % 64);
        }
    }
    Hash(bits)
}

/// A frame's perceptual hash (256 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hash(pub [u64; 4]);

impl Hash {
    /// Bits that differ.
    pub fn distance(&self, other: &Hash) -> u32 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }
}
