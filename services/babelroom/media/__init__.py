"""The media service: the SFU's RTP audio tap into the pipeline (``babelroom media``)."""
