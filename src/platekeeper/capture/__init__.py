"""Frame sources: files, folders, video; privacy masks applied before recognition."""
