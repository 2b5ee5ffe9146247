//! Generated images for the avatar tests.
#![allow(dead_code)]

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// A `width`×`height` image with a gradient, encoded as `format`.
pub fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, ImageFormat::Png)
}

/// A JPEG with an EXIF segment carrying `secret`, to see that metadata does not survive.
pub fn jpeg_with_exif(size: u32, secret: &str) -> Vec<u8> {
    let jpeg = encoded(size, size, ImageFormat::Jpeg);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(secret.as_bytes());
    let len = (payload.len() + 2) as u16;
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A tiny PNG whose header declares `side`×`side` pixels (a decompression bomb when large).
pub fn png_declaring(side: u32) -> Vec<u8> {
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    // a few bytes of zlib data: far too little for the declared size
    out.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// Files that are not PNG, JPEG or GIF.
pub fn other_formats() -> Vec<(&'static str, Vec<u8>)> {
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&[0u8; 64]);
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&[0u8; 64]);
    let mut webp = b"RIFF\x24\0\0\0WEBPVP8 ".to_vec();
    webp.extend_from_slice(&[0u8; 32]);
    vec![
        ("bmp", bmp),
        ("tiff", tiff),
        ("webp", webp),
        (
            "svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 300 300\"></svg>".to_vec(),
        ),
        ("text", b"just some text".to_vec()),
    ]
}

/// The width and height of an encoded image.
pub fn dimensions(bytes: &[u8]) -> (u32, u32) {
    image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .unwrap()
        .into_dimensions()
        .unwrap()
}

/// Compresses `input` into the stream, returning what the compressor wrote for it.
fn deflate_step(
    compress: &mut flate2::Compress,
    input: &[u8],
    flush: flate2::FlushCompress,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 8 + 64 * 1024);
    let start = compress.total_in();
    loop {
        let consumed = (compress.total_in() - start) as usize;
        compress
            .compress_vec(&input[consumed..], &mut out, flush)
            .unwrap();
        let all_in = (compress.total_in() - start) as usize == input.len();
        // the flush is complete once the compressor stops short of the room it had
        if all_in && out.len() < out.capacity() {
            return out;
        }
        out.reserve(64 * 1024);
    }
}

/// A zlib stream that inflates to `megabytes` MiB of zeros, about a thousandth of that in size:
/// one compressed MiB, repeated (each repeat decodes the same, as the window holds only zeros).
pub fn zlib_zeros(megabytes: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const MIB: usize = 1 << 20;
    let zeros = vec![0u8; MIB];
    let mut compress = Compress::new(Compression::best(), true);
    let head = deflate_step(&mut compress, &zeros, FlushCompress::Sync);
    let unit = deflate_step(&mut compress, &zeros, FlushCompress::Sync);
    let mut tail = deflate_step(&mut compress, &[], FlushCompress::Finish);
    // the Adler-32 of `megabytes` MiB of zeros: a stays 1, b counts the bytes
    let total = megabytes * MIB;
    let adler = (((total % 65521) as u32) << 16) | 1;
    let at = tail.len() - 4;
    tail[at..].copy_from_slice(&adler.to_be_bytes());
    let mut out = head;
    for _ in 1..megabytes {
        out.extend_from_slice(&unit);
    }
    out.extend_from_slice(&tail);
    out
}

/// A valid 256×256 PNG whose ICC profile chunk (iCCP) inflates to `megabytes` MiB: a decompression
/// bomb in metadata, which a decoder may inflate while it reads the header.
pub fn png_with_profile_bomb(megabytes: usize) -> Vec<u8> {
    let base = png(256, 256);
    let mut data = b"bomb\0\0".to_vec();
    data.extend_from_slice(&zlib_zeros(megabytes));
    // after the signature (8 bytes) and IHDR (4 + 4 + 13 + 4 bytes)
    let mut out = base[..33].to_vec();
    out.extend_from_slice(&chunk(b"iCCP", &data));
    out.extend_from_slice(&base[33..]);
    out
}

/// A full-size avatar that does not compress: 1024×1024 of noise.
pub fn png_noise(size: u32) -> Vec<u8> {
    let mut state = 0x2545_F491u32;
    let image = RgbImage::from_fn(size, size, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        Rgb([a, b, c])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}
