import CFFmpeg

/// Reads audio from any container libavformat knows (mp3, m4a, mp4, mkv, webm, ...) with libavcodec, converting
/// samples to interleaved Float32 with libswresample (format only: rate and channel count stay as stored; EmoKit
/// downmixes and resamples itself so both decoders give identical results for identical audio).
enum FFmpegDecoder {
    /// Silences libav's own logging once (errors are reported through `MediaError`).
    private static let quietLogs: Void = { av_log_set_level(AV_LOG_QUIET) }()

    /// Decodes the best audio stream of `path` to mono at its stored rate.
    static func decode(path: String) throws(MediaError) -> DecodedAudio {
        _ = quietLogs
        var formatContext: UnsafeMutablePointer<AVFormatContext>? = nil
        var status = avformat_open_input(&formatContext, path, nil, nil)
        guard status >= 0, let fctx = formatContext else {
            throw .decodeFailed(path: path, library: "libavformat", message: errorString(status))
        }
        defer { avformat_close_input(&formatContext) }
        status = avformat_find_stream_info(fctx, nil)
        guard status >= 0 else {
            throw .decodeFailed(path: path, library: "libavformat", message: "reading stream info: \(errorString(status))")
        }
        let formatName = fctx.pointee.iformat.map { String(cString: $0.pointee.name) } ?? "unknown"
        let streamIndex = av_find_best_stream(fctx, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0)
        guard streamIndex >= 0, let stream = fctx.pointee.streams[Int(streamIndex)],
              let parameters = stream.pointee.codecpar else {
            throw .noAudioStream(path: path, streams: streamList(fctx))
        }
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            let name = String(cString: avcodec_get_name(parameters.pointee.codec_id))
            throw .decodeFailed(path: path, library: "libavcodec", message: "no decoder for codec \(name) in this FFmpeg build")
        }
        var codecContext = avcodec_alloc_context3(codec)
        guard let cctx = codecContext else {
            throw .decodeFailed(path: path, library: "libavcodec", message: "out of memory allocating a decoder")
        }
        defer { avcodec_free_context(&codecContext) }
        status = avcodec_parameters_to_context(cctx, parameters)
        if status >= 0 { status = avcodec_open2(cctx, codec, nil) }
        guard status >= 0 else {
            throw .decodeFailed(path: path, library: "libavcodec", message: "opening the decoder: \(errorString(status))")
        }
        let rate = Int(cctx.pointee.sample_rate)
        var inLayout = AVChannelLayout()
        if cctx.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || cctx.pointee.ch_layout.nb_channels <= 0 {
            av_channel_layout_default(&inLayout, max(cctx.pointee.ch_layout.nb_channels, 1))
        } else {
            _ = av_channel_layout_copy(&inLayout, &cctx.pointee.ch_layout)
        }
        defer { av_channel_layout_uninit(&inLayout) }
        let channels = Int(inLayout.nb_channels)
        guard rate > 0, channels > 0 else {
            throw .decodeFailed(path: path, library: "libavcodec", message: "stream reports \(channels) channels at \(rate) Hz")
        }

        var outLayout = AVChannelLayout()
        _ = av_channel_layout_copy(&outLayout, &inLayout)
        defer { av_channel_layout_uninit(&outLayout) }
        var swr: OpaquePointer? = nil
        status = swr_alloc_set_opts2(&swr, &outLayout, AV_SAMPLE_FMT_FLT, Int32(rate),
                                     &inLayout, cctx.pointee.sample_fmt, Int32(rate), 0, nil)
        if status >= 0 { status = swr_init(swr) }
        defer { swr_free(&swr) }
        guard status >= 0, let converter = swr else {
            throw .decodeFailed(path: path, library: "libswresample", message: errorString(status))
        }

        var packet = av_packet_alloc()
        var frame = av_frame_alloc()
        defer { av_packet_free(&packet); av_frame_free(&frame) }
        guard let pkt = packet, let frm = frame else {
            throw .decodeFailed(path: path, library: "libavcodec", message: "out of memory allocating a frame")
        }
        var samples: [Float] = []
        var interleaved: [Float] = []
        var badPackets = 0

        /// Pulls every frame the decoder has ready and appends it, downmixed.
        func drain() throws(MediaError) {
            while true {
                let r = avcodec_receive_frame(cctx, frm)
                if r == cffmpeg_averror(EAGAIN) || r == cffmpeg_averror_eof() { return }
                if r < 0 {
                    throw .decodeFailed(path: path, library: "libavcodec", message: "decoding: \(errorString(r))")
                }
                let inFrames = Int(frm.pointee.nb_samples)
                let capacity = Int(swr_get_out_samples(converter, Int32(inFrames)))
                if interleaved.count < capacity * channels {
                    interleaved = [Float](repeating: 0, count: capacity * channels)
                }
                let produced = interleaved.withUnsafeMutableBytes { raw -> Int32 in
                    var out: UnsafeMutablePointer<UInt8>? = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
                    let input = UnsafeMutableRawPointer(frm.pointee.extended_data)?
                        .assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
                    return swr_convert(converter, &out, Int32(capacity), input, Int32(inFrames))
                }
                av_frame_unref(frm)
                guard produced >= 0 else {
                    throw .decodeFailed(path: path, library: "libswresample", message: errorString(produced))
                }
                interleaved.withUnsafeBufferPointer {
                    appendDownmix($0, frames: Int(produced), channels: channels, to: &samples)
                }
            }
        }

        while true {
            let r = av_read_frame(fctx, pkt)
            if r < 0 { break }  // end of file (or an unreadable tail: what was decoded so far is kept)
            if pkt.pointee.stream_index == streamIndex {
                let sent = avcodec_send_packet(cctx, pkt)
                if sent < 0 && sent != cffmpeg_averror(EAGAIN) { badPackets += 1 }
            }
            av_packet_unref(pkt)
            try drain()
        }
        _ = avcodec_send_packet(cctx, nil)
        try drain()
        if samples.isEmpty && badPackets > 0 {
            throw .decodeFailed(path: path, library: "libavcodec", message: "all \(badPackets) audio packets were invalid")
        }
        return DecodedAudio(samples: samples, sampleRate: rate, channels: channels, format: formatName, declaredFrames: nil)
    }

    /// "video (h264), audio (aac)" for error messages.
    private static func streamList(_ fctx: UnsafeMutablePointer<AVFormatContext>) -> String {
        var parts: [String] = []
        for i in 0..<Int(fctx.pointee.nb_streams) {
            guard let par = fctx.pointee.streams[i]?.pointee.codecpar else { continue }
            let type = av_get_media_type_string(par.pointee.codec_type).map { String(cString: $0) } ?? "unknown"
            let codec = String(cString: avcodec_get_name(par.pointee.codec_id))
            parts.append("\(type) (\(codec))")
        }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    /// libav's message for an error code.
    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        av_strerror(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
