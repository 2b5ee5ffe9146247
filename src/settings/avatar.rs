//! Avatar images (docs/compatibility.md, "Avatars", and its decisions): uploads are checked (format sniffed from
//! the bytes, dimensions read from the header before decoding), decoded within strict limits and
//! re-encoded to PNG, which also drops any metadata. Served sizes are resized with a Lanczos filter.
//! The letter avatar is the organization's initials on a colour chosen from its name.
//!
//! Decoding and resizing take CPU time: call these off the async workers.

use std::io::Cursor;

use base64::Engine;
use image::{ImageFormat, ImageReader, Limits};

/// `SENTRY_MAX_AVATAR_SIZE`
pub const MAX_BYTES: usize = 5_000_000;
pub const MIN_DIMENSION: u32 = 256;
pub const MAX_DIMENSION: u32 = 1024;
/// `ALLOWED_SIZES` of served avatars.
pub const ALLOWED_SIZES: [u32; 9] = [20, 32, 36, 48, 52, 64, 80, 96, 120];

pub const ERR_TOO_LARGE: &str = "Image too large";
pub const ERR_FORMAT: &str = "Invalid image format.";
pub const ERR_DIMENSIONS: &str = "Invalid image dimensions.";
pub const ERR_CORRUPT: &str = "The image could not be read: the file is damaged or incomplete.";
pub const ERR_BASE64: &str = "The avatar is not valid base64.";

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvatarError {
    TooLarge,
    Format,
    Dimensions(DimensionRule),
    Corrupt,
}

/// Which dimension rule an image broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimensionRule {
    NotSquare {
        width: u32,
        height: u32,
    },
    TooSmall {
        side: u32,
    },
    TooLarge {
        side: u32,
    },
    /// The header declares more than [`MAX_DIMENSION`] (not read further).
    DeclaredTooLarge,
    /// Decoding needs more memory than [`DECODE_BUDGET`] (an oversized embedded profile, say).
    TooMuchMemory,
}

impl AvatarError {
    /// Sentry's message, followed for dimensions by the rule that failed.
    pub fn message(&self) -> String {
        match self {
            AvatarError::TooLarge => ERR_TOO_LARGE.to_owned(),
            AvatarError::Format => ERR_FORMAT.to_owned(),
            AvatarError::Dimensions(rule) => format!("{ERR_DIMENSIONS} {}", rule.explain()),
            AvatarError::Corrupt => ERR_CORRUPT.to_owned(),
        }
    }
}

impl DimensionRule {
    fn explain(self) -> String {
        match self {
            DimensionRule::NotSquare { width, height } => {
                format!("The image is {width}×{height} pixels: it must be square.")
            }
            DimensionRule::TooSmall { side } => format!(
                "The image is {side}×{side} pixels: it must be at least \
                 {MIN_DIMENSION}×{MIN_DIMENSION}."
            ),
            DimensionRule::TooLarge { side } => format!(
                "The image is {side}×{side} pixels: it must be at most \
                 {MAX_DIMENSION}×{MAX_DIMENSION}."
            ),
            DimensionRule::DeclaredTooLarge => {
                format!("The image is larger than {MAX_DIMENSION}×{MAX_DIMENSION} pixels.")
            }
            DimensionRule::TooMuchMemory => {
                "Reading the image needs more memory than an avatar may use; save it again \
                 without embedded metadata (such as a colour profile)."
                    .to_owned()
            }
        }
    }
}

/// What the decoder may allocate for one image, metadata included (an ICC profile is inflated
/// within it too): a 1024×1024 image with 16-bit RGBA channels needs 8 MiB. With the upload's body
/// (read once by the CSRF check, once by the form) and the re-encoded PNG, one upload stays under
/// [`UPLOAD_MEMORY_BUDGET`].
pub const DECODE_BUDGET: u64 = 16 * 1024 * 1024;
/// What one upload may cost in memory, all steps together.
pub const UPLOAD_MEMORY_BUDGET: u64 = 64 * 1024 * 1024;
/// How many images are decoded or resized at once; more uploads wait their turn, so parallel uploads
/// cost at most this many budgets (plus their bodies).
pub const CONCURRENT_IMAGE_WORK: usize = 2;

/// The limits every read of an image runs under, from its header on: nothing wider or taller than an
/// accepted avatar, and [`DECODE_BUDGET`] of memory. (The image crate's default allows 512 MiB, which
/// a 1 MB PNG with a compressed ICC profile could claim before the first pixel.)
pub fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(DECODE_BUDGET);
    limits
}

/// The format, from the file's first bytes: PNG, JPEG or GIF only.
fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else {
        None
    }
}

/// Checks an uploaded image and returns it re-encoded as PNG.
pub fn process_upload(bytes: &[u8]) -> Result<Vec<u8>, AvatarError> {
    process_with_limits(bytes, limits())
}

/// [`process_upload`] with explicit decoding limits.
pub fn process_with_limits(bytes: &[u8], limits: Limits) -> Result<Vec<u8>, AvatarError> {
    if bytes.len() > MAX_BYTES {
        return Err(AvatarError::TooLarge);
    }
    let format = sniff(bytes).ok_or(AvatarError::Format)?;
    // the header first (under the same limits): a tiny file declaring an enormous image, or
    // carrying an enormous compressed chunk, is refused before any decoding
    let mut header = ImageReader::with_format(Cursor::new(bytes), format);
    header.limits(limits.clone());
    let (width, height) = header.into_dimensions().map_err(|err| match err {
        image::ImageError::Limits(limit) => AvatarError::Dimensions(match limit.kind() {
            image::error::LimitErrorKind::DimensionError => DimensionRule::DeclaredTooLarge,
            _ => DimensionRule::TooMuchMemory,
        }),
        _ => AvatarError::Corrupt,
    })?;
    if width != height {
        return Err(AvatarError::Dimensions(DimensionRule::NotSquare {
            width,
            height,
        }));
    }
    if width < MIN_DIMENSION {
        return Err(AvatarError::Dimensions(DimensionRule::TooSmall {
            side: width,
        }));
    }
    if width > MAX_DIMENSION {
        return Err(AvatarError::Dimensions(DimensionRule::TooLarge {
            side: width,
        }));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let image = reader.decode().map_err(|err| match err {
        image::ImageError::Limits(_) => AvatarError::Dimensions(DimensionRule::TooMuchMemory),
        _ => AvatarError::Corrupt,
    })?;
    encode_png(&image).map_err(|_| AvatarError::Corrupt)
}

fn encode_png(image: &image::DynamicImage) -> image::ImageResult<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// Decodes the API's base64 (standard alphabet; whitespace and a `data:` prefix are tolerated).
pub fn decode_base64(text: &str) -> Result<Vec<u8>, &'static str> {
    let text = match text.split_once(";base64,") {
        Some((prefix, rest)) if prefix.starts_with("data:") => rest,
        _ => text,
    };
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(compact).map_err(|_| ERR_BASE64)
}

/// The allowed size nearest to the one asked for.
pub fn snap_size(requested: u32) -> u32 {
    ALLOWED_SIZES
        .iter()
        .copied()
        .min_by_key(|size| size.abs_diff(requested))
        .unwrap_or(ALLOWED_SIZES[ALLOWED_SIZES.len() - 1])
}

/// The stored PNG resized to `size`×`size`.
pub fn resize(png: &[u8], size: u32) -> image::ImageResult<Vec<u8>> {
    let mut reader = ImageReader::with_format(Cursor::new(png), ImageFormat::Png);
    reader.limits(limits());
    let image = reader.decode()?;
    let resized = image.resize_exact(size, size, image::imageops::FilterType::Lanczos3);
    encode_png(&resized)
}

/// Sentry's letter-avatar colours.
const COLORS: [&str; 12] = [
    "#4674ca", "#315cac", "#57be8c", "#3fa372", "#f9a66d", "#ec5e44", "#e63717", "#f868bc",
    "#6c5fc7", "#4e3fb4", "#57b1be", "#847a8c",
];

/// The colour of a letter avatar: Sentry's `hashIdentifier` (the sum of the UTF-16 code units) picks
/// one of its colours.
pub fn letter_color(name: &str) -> &'static str {
    let hash: usize = name.encode_utf16().map(usize::from).sum();
    COLORS[hash % COLORS.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::DynamicImage::new_rgb8(width, height);
        encode_png(&image).unwrap()
    }

    #[test]
    fn sizes_snap_to_the_nearest_allowed_one() {
        assert_eq!(snap_size(20), 20);
        assert_eq!(snap_size(1), 20);
        assert_eq!(snap_size(33), 32);
        assert_eq!(snap_size(35), 36);
        assert_eq!(snap_size(100), 96);
        assert_eq!(snap_size(5000), 120);
    }

    #[test]
    fn uploads_are_re_encoded_as_png_within_the_dimension_rules() {
        let out = process_upload(&png(256, 256)).unwrap();
        assert!(out.starts_with(b"\x89PNG"));
        let refused = |w, h| process_upload(&png(w, h)).unwrap_err().message();
        assert_eq!(
            refused(255, 255),
            "Invalid image dimensions. The image is 255×255 pixels: it must be at least 256×256."
        );
        assert_eq!(
            refused(1025, 1025),
            "Invalid image dimensions. The image is larger than 1024×1024 pixels."
        );
        assert_eq!(
            refused(300, 301),
            "Invalid image dimensions. The image is 300×301 pixels: it must be square."
        );
        assert_eq!(
            process_upload(b"BM\x00\x00not a bitmap"),
            Err(AvatarError::Format)
        );
        assert_eq!(
            process_upload(&vec![0u8; MAX_BYTES + 1]),
            Err(AvatarError::TooLarge)
        );
        let mut truncated = png(300, 300);
        truncated.truncate(truncated.len() / 2);
        assert_eq!(process_upload(&truncated), Err(AvatarError::Corrupt));
    }

    #[test]
    fn decoding_respects_the_memory_limit() {
        let mut tight = limits();
        tight.max_alloc = Some(64 * 1024);
        assert_eq!(
            process_with_limits(&png(512, 512), tight),
            Err(AvatarError::Dimensions(DimensionRule::TooMuchMemory))
        );
        assert!(process_with_limits(&png(512, 512), limits()).is_ok());
    }

    #[test]
    fn base64_accepts_padding_whitespace_and_data_urls_and_refuses_garbage() {
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(
            decode_base64("data:image/png;base64,aG\nk=").unwrap(),
            b"hi"
        );
        assert_eq!(decode_base64("not base64!"), Err(ERR_BASE64));
    }

    #[test]
    fn letter_colours_follow_sentrys_hash() {
        // "a" = 97; 97 % 12 = 1
        assert_eq!(letter_color("a"), COLORS[1]);
        assert_eq!(letter_color("Acme"), letter_color("Acme"));
    }
}
