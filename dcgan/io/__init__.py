"""Files: any file system TensorFlow reads (``storage``), image grids, PNGs and GIFs
(``images``), and the matplotlib figures of vector runs (``plots``)."""
