"""Fill the pose cache for every clip under a folder (default: the shared dev clips).

A clip posed here also gets its back profile on every sample from the same pass (person masks
from the same landmarker calls; :class:`~formcheck_core.pose.back_pass.MainPassBack`), as
``analyze`` does; a clip whose pose is already cached is left as it is.
"""

import sys
from pathlib import Path

from formcheck_core.analysis import load_or_extract_pose
from formcheck_core.config import shared_dir
from formcheck_core.pose.back_pass import MainPassBack
from formcheck_core.video import probe_video

folder = Path(sys.argv[1]) if len(sys.argv) > 1 else shared_dir() / "videos" / "dev"
for clip in sorted(folder.glob("*.mp4")):
    info = probe_video(clip)
    pose, _ = load_or_extract_pose(info, progress=False, back=MainPassBack((info.width_px, info.height_px)))
    print(f"{clip.name}: {int(pose.detected.sum())}/{pose.n_samples} samples with a pose", flush=True)
