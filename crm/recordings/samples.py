"""Short synthetic recordings, made on this machine: for the demo data and the tests.

A voice-like signal (a few drifting tones, with syllables and pauses) so the waveform looks
like speech; written in the formats phones produce, through PyAV.
"""

import math
import random
from fractions import Fraction
from pathlib import Path

import av

# container format, codec, sample rate, layout: what real phones and browsers write.
FORMATS = {
    "wav": ("wav", "pcm_s16le", 16000, "mono"),
    "ogg": ("ogg", "libopus", 48000, "mono"),
    "webm": ("webm", "libopus", 48000, "mono"),
    "m4a": ("ipod", "aac", 44100, "mono"),
    "mp3": ("mp3", "libmp3lame", 44100, "mono"),
    "3gp": ("3gp", "aac", 16000, "mono"),
    "amr": ("amr", "libopencore_amrnb", 8000, "mono"),
}
FRAME_SAMPLES = 960


def _voice(rate: int, seconds: float, seed: int):
    rng = random.Random(seed)
    total = int(rate * seconds)
    pitch = rng.uniform(110, 220)
    syllable = rng.uniform(0.12, 0.25)
    for start in range(0, total, FRAME_SAMPLES):
        count = min(FRAME_SAMPLES, total - start)
        values = []
        for i in range(start, start + count):
            t = i / rate
            # Syllables come and go; every few seconds a pause.
            envelope = max(0.0, math.sin(math.pi * t / syllable)) ** 2
            if (t // 2.7) % 3 == 2:
                envelope *= 0.05
            tone = (math.sin(2 * math.pi * pitch * t) + 0.5 * math.sin(4 * math.pi * pitch * t)
                    + 0.25 * math.sin(6 * math.pi * (pitch + 30 * math.sin(t)) * t))
            values.append(int(9000 * envelope * tone / 1.75))
        yield values


def write_sample(path: Path, kind: str = "wav", seconds: float = 5.0, seed: int = 1) -> Path:
    """Write `seconds` of voice-like audio to `path` in the format named by `kind`."""
    container_format, codec, rate, layout = FORMATS[kind]
    with av.open(str(path), mode="w", format=container_format) as output:
        stream = output.add_stream(codec, rate=rate, layout=layout)
        if codec == "libopencore_amrnb":
            stream.bit_rate = 12200
        pts = 0
        for values in _voice(rate, seconds, seed):
            frame = av.AudioFrame(format="s16", layout=layout, samples=len(values))
            frame.planes[0].update(b"".join(v.to_bytes(2, "little", signed=True)
                                            for v in values))
            frame.sample_rate = rate
            frame.time_base = Fraction(1, rate)
            frame.pts = pts
            pts += len(values)
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return path
