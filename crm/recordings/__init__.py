"""Audio recordings of visits and calls: upload, storage, transcoding and playback."""
