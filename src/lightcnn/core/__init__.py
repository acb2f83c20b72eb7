"""The bottom layer, imported by every other: user-facing errors (:mod:`.errors`), the atomic
write (:mod:`.io`) and the process clock (:mod:`.clock`). Nothing here imports Lightning."""
