"""A run directory and its record: the names of its files (:mod:`.layout`), the guards that keep
a finished run from being written over (:mod:`.guards`), the attempts and failure record
(:mod:`.record`), ``resume=`` (:mod:`.resume`) and reading the checkpoints it holds
(:mod:`.checkpoints`). No Lightning here."""
