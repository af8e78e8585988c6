"""What kind of audio a file holds, told from its first bytes (never from its name)."""

HEADER_BYTES = 64

# ISO base media brands phones write for audio (m4a), and 3GPP brands (Android recorders).
_MP4_BRANDS = {b"M4A ", b"M4B ", b"mp41", b"mp42", b"isom", b"iso2", b"iso5", b"iso6",
               b"dash", b"MSNV", b"qt  ", b"avc1", b"f4a ", b"F4A "}
_3GP_PREFIXES = (b"3gp", b"3ge", b"3gg", b"3gs", b"3g2")


def _is_mpeg_audio_frame(head: bytes) -> bool:
    # 11 sync bits, a known MPEG version and a layer other than "reserved".
    return (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
            and (head[1] >> 3) & 0b11 != 0b01 and (head[1] >> 1) & 0b11 != 0b00)


def _is_adts(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0


def sniff_audio(head: bytes) -> str | None:
    """The audio MIME type of a file starting with `head`, or None when it is not audio."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"OggS":
        # Opus, Vorbis, Speex or FLAC in Ogg; a video-only Ogg (Theora) is not audio.
        if any(marker in head for marker in (b"OpusHead", b"\x01vorbis", b"Speex", b"FLAC")):
            return "audio/ogg"
        return None
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: WebM or Matroska (MediaRecorder on Chrome)
        return "audio/webm" if b"webm" in head or b"matroska" in head else None
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(_3GP_PREFIXES):
            return "audio/3gpp"
        return "audio/mp4" if brand in _MP4_BRANDS else None
    if head.startswith((b"#!AMR\n", b"#!AMR-WB\n")):
        return "audio/amr"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[:3] == b"ID3" or _is_mpeg_audio_frame(head):
        return "audio/mpeg"
    if _is_adts(head):
        return "audio/aac"
    return None


# The file name suffix a download of the original gets.
EXTENSIONS = {"audio/wav": "wav", "audio/ogg": "ogg", "audio/webm": "webm", "audio/3gpp": "3gp",
              "audio/mp4": "m4a", "audio/amr": "amr", "audio/flac": "flac", "audio/mpeg": "mp3",
              "audio/aac": "aac"}
