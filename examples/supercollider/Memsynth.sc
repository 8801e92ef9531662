// A SuperCollider client for memsynth's OSC API (see src/osc/mod.rs for the address table,
// or GET http://HOST:PORT+1/ for the server's own OSCQuery description).
//
//   m = Memsynth("127.0.0.1", 9000);
//   m.subscribe;                      // /bar, /beat, /phrase, /levels, /error come to sclang
//   m.onBar = { |bar| ("bar " ++ bar).postln };
//   m.syncClock(TempoClock.default);  // the clock follows memsynth's bars and tempo
//   m.tempo = 124; m.play;
//   m.status { |s| s.postln };        // (playing: true, tempo: 124.0, bar: 3, ...)
//
// Every setter sends one message; answers (/status, /patch/value) arrive asynchronously
// and are handed to the function given. Nothing here boots a sound server.
Memsynth {
	var <addr, <responders, <syncs, <synced, <beatsPerBar = 4, beatMax, <tempo, <lastBar, <lastStatus;
	var <>onBar, <>onBeat, <>onPhrase, <>onLevels, <>onError;

	*new { |host = "127.0.0.1", port = 9000|
		^super.new.init(host, port)
	}

	init { |host, port|
		addr = NetAddr(host, port);
		responders = List.new;
		syncs = List.new;
		synced = IdentitySet.new;
	}

	// Transport.
	play { addr.sendMsg("/transport/play") }
	stop { addr.sendMsg("/transport/stop") }
	tap { addr.sendMsg("/transport/tap") }
	tempo_ { |bpm| addr.sendMsg("/transport/tempo", bpm.asFloat) }

	// Conductor and retrieval.
	mode_ { |mode| addr.sendMsg("/conductor/mode", mode.asString) }
	steps_ { |steps| addr.sendMsg("/conductor/steps", steps.asInteger) }
	guidance_ { |scale| addr.sendMsg("/conductor/guidance", scale.asFloat) }
	seed_ { |seed| addr.sendMsg("/conductor/seed", seed.asInteger) }
	k_ { |k| addr.sendMsg("/retrieval/k", k.asInteger) }
	weights { |rhythm = 1, harmony = 1, timbre = 1|
		addr.sendMsg("/retrieval/weights", rhythm.asFloat, harmony.asFloat, timbre.asFloat)
	}
	phrase { |id| addr.sendMsg("/retrieval/phrase", id.asInteger) }

	// Mixer.
	gain { |channel, gain| addr.sendMsg("/mixer/gain", channel.asString, gain.asFloat) }
	xfade_ { |beats| addr.sendMsg("/mixer/xfade", beats.asFloat) }

	// Patches: a file name in the server's patches folder, and dotted parameter paths.
	loadPatch { |name| addr.sendMsg("/patch/load", name.asString) }
	setPatch { |path, value| addr.sendMsg("/patch/set", path.asString, value.asFloat) }
	getPatch { |path, action|
		this.prOnce('/patch/value', { |msg| action.value(msg[2], msg[1].asString) }, { |msg|
			msg[1].asString == path.asString
		});
		addr.sendMsg("/patch/get", path.asString);
	}

	// Recording on the server.
	record { |name| if(name.isNil) { addr.sendMsg("/record/start") } { addr.sendMsg("/record/start", name.asString) } }
	stopRecording { addr.sendMsg("/record/stop") }

	// Motion in memsynth's own format (SI units), e.g. from a HID or a Wii remote.
	motion { |kind, values| addr.sendMsg(*(["/motion/" ++ kind.asString] ++ values.collect(_.asFloat))) }

	// Asks for /status; `action` gets an Event (playing, tempo, bar, beat, phrase, underruns).
	status { |action|
		this.prOnce('/status', { |msg|
			var s = this.prStatus(msg);
			action.value(s);
		});
		addr.sendMsg("/status");
	}

	// Pushes to sclang's own port: /bar, /beat, /phrase, /levels, /error.
	subscribe {
		this.prListen('/bar', { |msg, time|
			lastBar = msg[1];
			syncs.do { |clock| this.prSync(clock, msg[1], time) };
			onBar.value(msg[1], time);
			// The bar is when to learn a new tempo: it changes on bar lines.
			addr.sendMsg("/status");
		});
		this.prListen('/beat', { |msg, time|
			// The metre: one more than the highest beat index of the bar that just ended.
			if(msg[1] == 0 and: { beatMax.notNil }) { beatsPerBar = beatMax + 1 };
			beatMax = if(msg[1] == 0) { 0 } { max(beatMax ? 0, msg[1]) };
			onBeat.value(msg[1], time);
		});
		this.prListen('/phrase', { |msg| onPhrase.value(msg[1], msg[2]) });
		this.prListen('/levels', { |msg| onLevels.value(msg[1], msg[2]) });
		this.prListen('/error', { |msg|
			if(onError.notNil) { onError.value(msg[1].asString) } { ("memsynth: " ++ msg[1]).warn };
		});
		this.prListen('/status', { |msg| this.prStatus(msg) });
		addr.sendMsg("/subscribe", NetAddr.langPort);
	}

	unsubscribe {
		addr.sendMsg("/unsubscribe");
		this.free;
	}

	// Keeps `clock` on memsynth's beat: each /bar sets its tempo from the server's and
	// pulls its phase onto the bar line (a jump on the first bar, then at most 5 % of
	// tempo so that patterns on the clock never skip). Needs `subscribe`.
	syncClock { |clock|
		syncs.add(clock);
		^clock
	}

	unsyncClock { |clock| syncs.remove(clock); synced.remove(clock) }

	// Removes every responder this object made.
	free {
		responders.do(_.free);
		responders = List.new;
		syncs = List.new;
		synced = IdentitySet.new;
	}

	prListen { |path, func|
		var f = OSCFunc({ |msg, time| func.value(msg, time) }, path, addr);
		responders.add(f);
		^f
	}

	prOnce { |path, func, test|
		var f;
		f = OSCFunc({ |msg|
			if(test.isNil or: { test.value(msg) }) {
				func.value(msg);
				f.free;
				responders.remove(f);
			};
		}, path, addr);
		responders.add(f);
		^f
	}

	prStatus { |msg|
		var s = (
			playing: msg[1] == 1, tempo: msg[2], bar: msg[3], beat: msg[4],
			phrase: if(msg[5] < 0) { nil } { msg[5] }, underruns: msg[6]
		);
		lastStatus = s;
		tempo = s.tempo;
		^s
	}

	prSync { |clock, bar, time|
		var target = bar * beatsPerBar, error, bps;
		bps = (tempo ? (clock.tempo * 60)) / 60;
		if(clock.beatsPerBar != beatsPerBar) {
			clock.schedAbs(clock.nextBar, { clock.beatsPerBar = beatsPerBar; nil });
		};
		error = clock.beats - target;
		if(synced.includes(clock).not or: { error.abs > beatsPerBar }) {
			synced.add(clock);
			clock.beats = target;
			clock.tempo = bps;
		} {
			// Ahead by `error` beats: slow down to lose it over the next bar.
			clock.tempo = bps * (1 - (error / beatsPerBar)).clip(0.95, 1.05);
		};
	}
}
