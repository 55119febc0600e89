"""Signal measurements and level control that music and mix both use: the BS.1770 loudness
meter, true peak, the look-ahead limiter, the gain that meets a loudness target under a ceiling
(`gain`), and mastering an array or a file to that target (`master`)."""
