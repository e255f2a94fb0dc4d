"""Generate the demo course's audio lesson: 12 seconds of a soft chime rhythm (8 kHz, 8-bit mono WAV).

A real course ships a recording; the demo needs a small file that any browser plays offline and
whose length the importer can measure.  Run: python tools/make_demo_audio.py
"""
import math
import wave
from pathlib import Path

RATE = 8000
SECONDS = 12
TARGET = Path(__file__).resolve().parents[1] / "learning" / "content" / "courses" / "party-constitution" / "media" / "oath-rhythm.wav"


def sample(t: float) -> float:
    beat = t % 1.5
    envelope = math.exp(-beat * 4)
    tone = 523.25 if int(t / 1.5) % 2 == 0 else 659.25  # C5, E5
    return 0.35 * envelope * math.sin(2 * math.pi * tone * t)


def main() -> None:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(TARGET), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(RATE)
        out.writeframes(bytes(int(128 + 127 * sample(i / RATE)) for i in range(RATE * SECONDS)))
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
