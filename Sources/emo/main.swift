print("emo")
