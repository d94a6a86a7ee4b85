//! The sensor's status screen, drawn on any embedded-graphics
//! [`DrawTarget`]: the answer and its confidence, a thumbnail of the
//! encryption actually sent ("what the server saw"), the encryptor's
//! backend, the link to the server, the scene budget and the frame rate.
//!
//! Drawing allocates nothing (text is formatted into fixed buffers), so the
//! same code runs on a microcontroller. Two layouts: 128x64 monochrome
//! (SSD1306-class panels, the thumbnail dithered) and 240x240 colour
//! (ST7789-class, RGB565); a screen of another size gets the layout that
//! fits it, clipped to its bounds.

mod colors;
mod layout;

use embedded_graphics::prelude::*;

pub use colors::StatusColor;

use crate::Encryption;
use crate::error::{Error, Result};

/// The link to the server, as the screen shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Link {
    /// Not connected yet.
    Connecting,
    /// The last request was answered.
    Ok,
    /// The last request failed; the next frame tries again.
    Retrying,
    /// The server has not answered for a while; frames are dropped.
    Offline,
    /// The server's model expects another encryption: nothing is sent.
    ModelMismatch,
}

impl Link {
    fn text(self) -> &'static str {
        match self {
            Link::Connecting => "CONNECTING",
            Link::Ok => "ONLINE",
            Link::Retrying => "RETRYING",
            Link::Offline => "OFFLINE",
            Link::ModelMismatch => "MODEL MISMATCH",
        }
    }
}

/// What the scene budget did with the last frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SceneState {
    /// Encrypted with a fresh key and sent.
    Sent,
    /// The scene's budget was spent: its last answer was reused, nothing sent.
    Reused,
    /// The scene's budget was spent and there is no answer to reuse.
    Withheld,
    /// No frame yet (or it was dropped while offline).
    Idle,
}

impl SceneState {
    fn text(self) -> &'static str {
        match self {
            SceneState::Sent => "sent",
            SceneState::Reused => "reused",
            SceneState::Withheld => "withheld",
            SceneState::Idle => "idle",
        }
    }
}

/// An encryption's values as the server received them (channels first),
/// for the thumbnail. Holds nothing private: this is what left the device.
#[derive(Clone, Copy, Debug)]
pub struct Thumbnail<'a> {
    data: &'a [f32],
    channels: usize,
    height: usize,
    width: usize,
}

impl<'a> Thumbnail<'a> {
    /// The encryption `e`.
    pub fn of(e: &'a Encryption) -> Thumbnail<'a> {
        let [channels, height, width] = e.shape();
        Thumbnail {
            data: e.data(),
            channels,
            height,
            width,
        }
    }

    /// Values laid out `channels x height x width`.
    pub fn new(data: &'a [f32], channels: usize, height: usize, width: usize) -> Result<Self> {
        let len = channels
            .checked_mul(height)
            .and_then(|n| n.checked_mul(width));
        if channels == 0 || height == 0 || width == 0 || len != Some(data.len()) {
            return Err(Error::InvalidFrame(format!(
                "thumbnail of {} values is not {channels}x{height}x{width}",
                data.len()
            )));
        }
        Ok(Thumbnail {
            data,
            channels,
            height,
            width,
        })
    }

    /// The brightness (0..=255) at row `y`, column `x`, averaged over
    /// channels. Encryptions of normalised frames lie within a few units of
    /// zero with random signs; -2..2 spans the grey scale.
    fn level(&self, y: usize, x: usize) -> u8 {
        let plane = self.height * self.width;
        let sum: f32 = (0..self.channels)
            .map(|c| self.data[c * plane + y * self.width + x])
            .sum();
        let v = sum / self.channels as f32;
        let v = if v.is_finite() { v } else { 0.0 };
        ((v / 4.0 + 0.5).clamp(0.0, 1.0) * 255.0) as u8
    }
}

/// Everything the screen shows.
#[derive(Clone, Copy, Debug)]
pub struct Status<'a> {
    /// The last answer: label and probability (0..=1).
    pub answer: Option<(&'a str, f32)>,
    /// The last encryption sent.
    pub sent: Option<Thumbnail<'a>>,
    /// Whether the encryptor runs on the GPU (else the CPU).
    pub gpu: bool,
    /// The link to the server.
    pub link: Link,
    /// What the scene budget did with the last frame.
    pub scene: SceneState,
    /// Frames per second taken from the source.
    pub fps: f32,
}

/// Draws `status` over the whole of `target`, without allocating.
pub fn draw<D>(status: &Status<'_>, target: &mut D) -> core::result::Result<(), D::Error>
where
    D: DrawTarget,
    D::Color: StatusColor,
{
    let area = target.bounding_box();
    let mut clipped = target.clipped(&area);
    clipped.clear(D::Color::BACKGROUND)?;
    if area.size.width >= 200 && area.size.height >= 160 {
        layout::large(status, &mut clipped, area)
    } else {
        layout::small(status, &mut clipped, area)
    }
}
