"""In-process cache of public answers, invalidated exactly by the live change feed."""
