import EmoCore

extension PipelineSpec {
    /// Problems with values that decode but make no sense, each with its JSON path; empty when the spec is usable.
    /// `knownComponents`, when given, must contain every component id the spec names.
    public func validate(knownComponents: Set<String>? = nil) -> [SpecIssue] {
        var issues: [SpecIssue] = []
        func fail(_ path: String, _ message: String) { issues.append(SpecIssue(path: path, message: message)) }
        func checkID(_ path: String, _ id: String) {
            if !ComponentInfo.isValidID(id) {
                fail(path, "\"\(id)\" is not a component id (lower-case letters, digits and '-')")
            } else if let known = knownComponents, !known.contains(id) {
                fail(path, "no installed component is called \"\(id)\" (see `emo plugins list`)")
            }
        }

        if version != 1 { fail("version", "this EmoKit reads spec version 1, found \(version)") }
        if !ComponentInfo.isValidID(name) { fail("name", "\"\(name)\" must be lower-case letters, digits and '-'") }

        // Corpus.
        if corpus.sources.isEmpty { fail("corpus.sources", "name at least one corpus source") }
        for (i, s) in corpus.sources.enumerated() {
            if !ComponentInfo.isValidID(s.kind) { fail("corpus.sources[\(i)].kind", "\"\(s.kind)\" is not a corpus kind") }
            if s.path.isEmpty { fail("corpus.sources[\(i)].path", "empty path") }
            if let bad = CorpusSource.expand(s.path, environment: [:]).missing, bad == "unterminated ${" {
                fail("corpus.sources[\(i)].path", "unterminated ${ in \"\(s.path)\"")
            }
        }
        if corpus.classes.count < 2 { fail("corpus.classes", "name at least two classes") }
        if Set(corpus.classes).count != corpus.classes.count { fail("corpus.classes", "class names repeat") }
        for (from, to) in corpus.labelMap.sorted(by: { $0.key < $1.key }) where !corpus.classes.contains(to) {
            fail("corpus.labelMap.\(from)", "maps to \"\(to)\", which is not one of corpus.classes")
        }

        do { try audio.decodeOptions.validate() } catch { fail("audio", "\(error)") }

        // Feature groups.
        if featureGroups.isEmpty { fail("featureGroups", "name at least one feature group") }
        var groupNames: [String] = []
        for (i, g) in featureGroups.enumerated() {
            if !ComponentInfo.isValidID(g.name) {
                fail("featureGroups[\(i)].name", "\"\(g.name)\" must be lower-case letters, digits and '-'")
            }
            if groupNames.contains(g.name) { fail("featureGroups[\(i)].name", "group \"\(g.name)\" is defined twice") }
            groupNames.append(g.name)
            checkID("featureGroups[\(i)].component", g.component)
            if let t = g.textFrom { checkID("featureGroups[\(i)].textFrom.component", t.component) }
            if g.input == .transcript && g.textFrom == nil {
                fail("featureGroups[\(i)].textFrom", "input \"transcript\" needs a transcriber here (e.g. whisper-tiny-en)")
            }
            if g.input != .transcript && g.textFrom != nil {
                fail("featureGroups[\(i)].textFrom", "only input \"transcript\" reads text from a transcriber")
            }
            if let f = g.fineTune {
                if f.layers != "all" && !(f.layers.hasPrefix("top-") && (Int(f.layers.dropFirst(4)) ?? 0) >= 1) {
                    fail("featureGroups[\(i)].fineTune.layers", "must be \"all\" or \"top-K\" with K ≥ 1, got \"\(f.layers)\"")
                }
                if let lr = f.learningRate, !(lr > 0 && lr.isFinite) {
                    fail("featureGroups[\(i)].fineTune.learningRate", "must be a positive number, got \(lr)")
                }
                if g.config["fine_tune"] != nil {
                    fail("featureGroups[\(i)].config.fine_tune", "set by fineTune.layers; remove it from config")
                }
            }
        }

        // Split.
        switch split.method {
        case .stratified(let f), .groupedByText(let f):
            if !(f > 0 && f < 1) { fail("split.testFraction", "must lie strictly between 0 and 1, got \(f)") }
        case .speakerKFold(let k):
            if k < 2 { fail("split.folds", "needs at least 2 folds, got \(k)") }
        case .leaveOneSpeakerOut, .official: break
        case .groupedByTextKFold(let k):
            if k < 2 { fail("split.folds", "needs at least 2 folds, got \(k)") }
        case let .crossCorpus(train, test, _):
            let names = corpus.sourceNames
            if train.isEmpty { fail("split.train", "name at least one corpus to train on (sources: \(names.joined(separator: ", ")))") }
            if let t = test, t.isEmpty {
                fail("split.test", "name at least one corpus to test on, or leave 'test' out to test on every other source")
            }
            for (side, list) in [("train", train), ("test", test ?? [])] {
                for (i, name) in list.enumerated() where !names.contains(name) {
                    fail("split.\(side)[\(i)]", "no corpus source is called \"\(name)\" (sources: \(names.joined(separator: ", ")); "
                         + "a second source of the same kind is \"kind#2\")")
                }
            }
            let both = Set(train).intersection(test ?? []).sorted()
            if !both.isEmpty { fail("split", "\(both.joined(separator: ", ")) named on both the train and the test side") }
            if test == nil, !train.isEmpty, Set(names).isSubset(of: train) {
                fail("split.train", "every source is on the train side, so nothing is left to test on")
            }
        case .leaveOneCorpusOut:
            if Set(corpus.sourceNames).count < 2 {
                fail("split", "leave-one-corpus-out needs at least 2 corpus sources, got \(corpus.sourceNames.count)")
            }
        }
        if let v = split.validationFraction, !(v > 0 && v < 1) {
            fail("split.validationFraction", "must lie strictly between 0 and 1, got \(v)")
        }

        // Scaling and fusion refer to groups by name.
        for name in scaling.groups.keys.sorted() where !groupNames.contains(name) {
            fail("scaling.groups.\(name)", "no feature group is called \"\(name)\" (have: \(groupNames.joined(separator: ", ")))")
        }
        checkID("fusion.component", fusion.component)
        for (i, name) in (fusion.groups ?? []).enumerated() where !groupNames.contains(name) {
            fail("fusion.groups[\(i)]", "no feature group is called \"\(name)\" (have: \(groupNames.joined(separator: ", ")))")
        }
        checkID("classifier.component", classifier.component)

        issues += training.issues(classes: corpus.classes)

        if seeds.isEmpty { fail("seeds", "name at least one seed") }
        if Set(seeds).count != seeds.count { fail("seeds", "seeds repeat: each seed is one run") }
        if metrics.isEmpty { fail("metrics", "name at least one metric (or leave the field out for all)") }

        for (i, e) in explainers.enumerated() {
            checkID("explainers[\(i)].component", e.component)
            if e.inputs.isEmpty { fail("explainers[\(i)].inputs", "name what to attribute over") }
            for (j, input) in e.inputs.enumerated() where !(groupNames + ["waveform", "tokens"]).contains(input) {
                fail("explainers[\(i)].inputs[\(j)]",
                     "\"\(input)\" is neither a feature group (\(groupNames.joined(separator: ", "))) nor waveform/tokens")
            }
            if e.samples < 1 { fail("explainers[\(i)].samples", "must be at least 1") }
        }
        return issues
    }
}
