"""The bottom layer, imported by every other: user-facing errors (:mod:`.errors`), the atomic
write (:mod:`.io`), the process clock (:mod:`.clock`) and the command lines' process lifetime
(:mod:`.collector`, :mod:`.teardown`). Nothing here imports Lightning."""
