"""Document context (Pro): a room's uploaded documents, their domain terms and MiniLM-embedded chunks in
pgvector, and the terms handed to Whisper at decode time.

- :mod:`.document_text`: the uploaded bytes → text (type judged by content), or a refusal.
- :mod:`.terms`: domain terms of a text (names, acronyms, long and compound words).
- :mod:`.chunks`: text → overlapping chunks of words.
- :mod:`.embeddings`: all-MiniLM-L6-v2 sentence embeddings (384-d, unit length); needs torch: jobs image only.
- :mod:`.store`: a document's chunk rows for ``document_chunks``; a room's terms; terms of the chunks nearest a text.
- :mod:`.room_cache`: the room's terms cached in Redis for the STT worker, and which of them a decode gets.
- :mod:`.queueing`: the ``context`` queue's jobs (indexing, re-ordering), sent by the gateway and STT, which have no
  torch, and run by :mod:`babelroom.jobs.context` on the jobs image.
"""
