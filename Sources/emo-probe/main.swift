print("emo-probe")
