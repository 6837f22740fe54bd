"""What a run leaves behind: result files (``writers``) and the summary on the terminal
(``summary``)."""
