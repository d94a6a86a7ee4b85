//! Where the status screen goes: PNG files (one per frame), a Linux
//! framebuffer (RGB565 or XRGB8888, written whole at offset 0; a regular
//! file of the right size works too), or nowhere. A screen up to 128x64 is
//! drawn as a monochrome panel, a larger one in RGB565.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use edgehide::display::{self, Status, StatusColor};
use embedded_graphics::pixelcolor::{BinaryColor, Rgb565, Rgb888};
use embedded_graphics::prelude::*;

/// A frame buffer in memory, allocated once.
struct Canvas<C> {
    size: Size,
    pixels: Vec<C>,
}

impl<C: PixelColor> OriginDimensions for Canvas<C> {
    fn size(&self) -> Size {
        self.size
    }
}

impl<C: PixelColor> DrawTarget for Canvas<C> {
    type Color = C;
    type Error = core::convert::Infallible;
    fn draw_iter<I: IntoIterator<Item = Pixel<C>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        let (w, h) = (self.size.width as i32, self.size.height as i32);
        for Pixel(p, c) in pixels {
            if (0..w).contains(&p.x) && (0..h).contains(&p.y) {
                self.pixels[(p.y * w + p.x) as usize] = c;
            }
        }
        Ok(())
    }
}

impl<C: StatusColor + Into<Rgb888>> Canvas<C> {
    fn new(size: Size) -> Self {
        Canvas {
            size,
            pixels: vec![C::BACKGROUND; (size.width * size.height) as usize],
        }
    }
    fn draw(&mut self, status: &Status<'_>) -> Vec<Rgb888> {
        let _ = display::draw(status, self);
        self.pixels.iter().map(|&c| c.into()).collect()
    }
}

enum Panel {
    Mono(Canvas<BinaryColor>),
    Colour(Canvas<Rgb565>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelLayout {
    Rgb565,
    Xrgb8888,
}

enum Output {
    None,
    Png(PathBuf),
    Framebuffer(File, PixelLayout),
}

pub struct Screen {
    panel: Panel,
    output: Output,
    size: Size,
}

fn parse_size(s: &str) -> Result<Size> {
    let (w, h) = s
        .split_once('x')
        .with_context(|| format!("{s:?}: a size is WIDTHxHEIGHT"))?;
    let (w, h): (u32, u32) = (w.parse()?, h.parse()?);
    if !(8..=4096).contains(&w) || !(8..=4096).contains(&h) {
        bail!("{s}: sides from 8 to 4096 pixels");
    }
    Ok(Size::new(w, h))
}

impl Screen {
    /// `none`, `png:DIR[:WxH]` (default 240x240) or
    /// `fb:PATH:WxH:rgb565|xrgb8888`.
    pub fn open(spec: &str) -> Result<Screen> {
        let mut parts = spec.split(':');
        let kind = parts.next().unwrap_or_default();
        let (output, size) = match kind {
            "none" => (Output::None, Size::new(240, 240)),
            "png" => {
                let dir = PathBuf::from(parts.next().context("png:DIR")?);
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let size = parts.next().map(parse_size).transpose()?;
                (Output::Png(dir), size.unwrap_or(Size::new(240, 240)))
            }
            "fb" => {
                let (Some(path), Some(size), Some(layout)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    bail!("{spec:?}: fb:PATH:WIDTHxHEIGHT:rgb565|xrgb8888");
                };
                let size = parse_size(size)?;
                let layout = match layout {
                    "rgb565" => PixelLayout::Rgb565,
                    "xrgb8888" => PixelLayout::Xrgb8888,
                    other => bail!("{other:?}: rgb565 or xrgb8888"),
                };
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .with_context(|| format!("cannot open the framebuffer {path}"))?;
                let bytes = (size.width * size.height) as u64
                    * if layout == PixelLayout::Rgb565 { 2 } else { 4 };
                let meta = file.metadata()?;
                if meta.is_file() && meta.len() < bytes {
                    bail!(
                        "{path}: {} bytes, a {}x{} screen needs {bytes}",
                        meta.len(),
                        size.width,
                        size.height
                    );
                }
                (Output::Framebuffer(file, layout), size)
            }
            other => bail!("{other:?}: the display is none, png:DIR[:WxH] or fb:PATH:WxH:FORMAT"),
        };
        let panel = if size.width <= 128 && size.height <= 64 {
            Panel::Mono(Canvas::new(size))
        } else {
            Panel::Colour(Canvas::new(size))
        };
        Ok(Screen {
            panel,
            output,
            size,
        })
    }

    /// Draws `status` and shows it as frame `n`.
    pub fn show(&mut self, status: &Status<'_>, n: usize) -> Result<()> {
        if matches!(self.output, Output::None) {
            return Ok(());
        }
        let pixels = match &mut self.panel {
            Panel::Mono(c) => c.draw(status),
            Panel::Colour(c) => c.draw(status),
        };
        match &self.output {
            Output::None => {}
            Output::Png(dir) => {
                let path = dir.join(format!("{n:05}.png"));
                let raw: Vec<u8> = pixels.iter().flat_map(|c| [c.r(), c.g(), c.b()]).collect();
                image::RgbImage::from_raw(self.size.width, self.size.height, raw)
                    .context("screen buffer")?
                    .save(&path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Output::Framebuffer(file, layout) => {
                let raw: Vec<u8> = match layout {
                    PixelLayout::Rgb565 => pixels
                        .iter()
                        .flat_map(|&c| Rgb565::from(c).into_storage().to_le_bytes())
                        .collect(),
                    PixelLayout::Xrgb8888 => pixels
                        .iter()
                        .flat_map(|c| [c.b(), c.g(), c.r(), 0])
                        .collect(),
                };
                file.write_all_at(&raw, 0)
                    .context("writing the framebuffer")?;
            }
        }
        Ok(())
    }
}
