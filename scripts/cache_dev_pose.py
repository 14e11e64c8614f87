"""Fill the pose cache for every clip under a folder (default: the shared dev clips)."""

import sys
from pathlib import Path

from formcheck_core.analysis import load_or_extract_pose
from formcheck_core.config import shared_dir
from formcheck_core.video import probe_video

folder = Path(sys.argv[1]) if len(sys.argv) > 1 else shared_dir() / "videos" / "dev"
for clip in sorted(folder.glob("*.mp4")):
    pose, _ = load_or_extract_pose(probe_video(clip), progress=False)
    print(f"{clip.name}: {int(pose.detected.sum())}/{pose.n_samples} samples with a pose", flush=True)
