//! Sensor orientation: cameras deliver frames as the sensor sees them, and
//! the app knows how far to turn them to be upright (and whether the front
//! camera mirrors). The preprocessor crops and resizes in sensor
//! coordinates and turns only the model-sized result, so turning a frame
//! costs nothing per source pixel.

/// How far a frame must be turned clockwise to be upright (Android's
/// `ImageInfo.getRotationDegrees`; on iOS, from the connection's video
/// rotation angle).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotation {
    /// Already upright.
    #[default]
    R0,
    /// A quarter turn clockwise.
    R90,
    /// A half turn.
    R180,
    /// Three quarter turns clockwise (a quarter turn anticlockwise).
    R270,
}

impl Rotation {
    /// The rotation for a number of degrees clockwise (0, 90, 180 or 270).
    pub fn from_degrees(degrees: u32) -> Option<Rotation> {
        match degrees {
            0 => Some(Rotation::R0),
            90 => Some(Rotation::R90),
            180 => Some(Rotation::R180),
            270 => Some(Rotation::R270),
            _ => None,
        }
    }

    fn quarter(self) -> bool {
        matches!(self, Rotation::R90 | Rotation::R270)
    }
}

/// How to turn a frame upright: a rotation, then an optional left-right
/// mirror (a front camera's preview).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Orientation {
    /// Clockwise rotation to upright.
    pub rotation: Rotation,
    /// Mirror left and right after rotating.
    pub mirror: bool,
}

impl Orientation {
    /// Size of the upright image of a `w` x `h` sensor image.
    pub(super) fn upright_size(self, w: u32, h: u32) -> (u32, u32) {
        if self.rotation.quarter() {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// The sensor pixel shown at upright pixel (x, y) of an image whose
    /// sensor size is `w` x `h`.
    pub(super) fn to_sensor(self, x: u32, y: u32, w: u32, h: u32) -> (u32, u32) {
        let (uw, _) = self.upright_size(w, h);
        let x = if self.mirror { uw - 1 - x } else { x };
        match self.rotation {
            Rotation::R0 => (x, y),
            Rotation::R90 => (y, h - 1 - x),
            Rotation::R180 => (w - 1 - x, h - 1 - y),
            Rotation::R270 => (w - 1 - y, x),
        }
    }

    /// The sensor rectangle (x, y, width, height) that the upright rectangle
    /// `rect` shows, for a `w` x `h` sensor image.
    pub(super) fn rect_to_sensor(
        self,
        rect: (u32, u32, u32, u32),
        w: u32,
        h: u32,
    ) -> (u32, u32, u32, u32) {
        let (x, y, rw, rh) = rect;
        let (ax, ay) = self.to_sensor(x, y, w, h);
        let (bx, by) = self.to_sensor(x + rw - 1, y + rh - 1, w, h);
        (
            ax.min(bx),
            ay.min(by),
            ax.abs_diff(bx) + 1,
            ay.abs_diff(by) + 1,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Turns a `w` x `h` image by materialising every upright pixel.
    fn upright(img: &[u32], w: u32, h: u32, o: Orientation) -> (Vec<u32>, u32, u32) {
        let (uw, uh) = o.upright_size(w, h);
        let mut out = Vec::new();
        for y in 0..uh {
            for x in 0..uw {
                let (sx, sy) = o.to_sensor(x, y, w, h);
                out.push(img[(sy * w + sx) as usize]);
            }
        }
        (out, uw, uh)
    }

    #[test]
    fn quarter_turns_compose_and_rectangles_map_exactly() {
        let (w, h) = (5u32, 3u32);
        let img: Vec<u32> = (0..w * h).collect();
        // A quarter turn clockwise: the bottom-left pixel comes to the top left.
        let r90 = Orientation {
            rotation: Rotation::R90,
            mirror: false,
        };
        let (u, uw, uh) = upright(&img, w, h, r90);
        assert_eq!((uw, uh), (3, 5));
        assert_eq!(&u[..3], &[10, 5, 0]);
        for rotation in [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270] {
            for mirror in [false, true] {
                let o = Orientation { rotation, mirror };
                let (u, uw, uh) = upright(&img, w, h, o);
                // Every sensor pixel appears once.
                let mut seen = u.clone();
                seen.sort();
                assert_eq!(seen, img);
                // A rectangle of the upright image is a rectangle of the sensor's.
                let rect = (1, 1, uw - 2, uh - 1);
                let (sx, sy, sw, sh) = o.rect_to_sensor(rect, w, h);
                let mut inside: Vec<u32> = (sy..sy + sh)
                    .flat_map(|y| (sx..sx + sw).map(move |x| y * w + x))
                    .collect();
                let mut want: Vec<u32> = (rect.1..rect.1 + rect.3)
                    .flat_map(|y| (rect.0..rect.0 + rect.2).map(move |x| (x, y)))
                    .map(|(x, y)| u[(y * uw + x) as usize])
                    .collect();
                inside.sort();
                want.sort();
                assert_eq!(inside, want, "{o:?}");
            }
        }
    }
}
