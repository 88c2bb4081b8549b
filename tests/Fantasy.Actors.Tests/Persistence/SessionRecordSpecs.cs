using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading.Channels;
using CsCheck;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Persistence;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;
using static Fantasy.Actors.Testing.Build;

namespace Fantasy.Actors.Tests.Persistence;

/// <summary>What a session records, and what it recovers from the record, as plain types.</summary>
public sealed class SessionRecordSpecs
{
    private enum Step
    {
        ChainById,
        ResendHistory,
        ResendReformatted,
        EditHistory,
        ChangeSettings,
        Fail,
        OverHttp,
        NewConnection,
        Snapshot,
    }

    /// <summary>
    /// For any sequence of turns — chained by id, the whole history resent (as it was, or re-serialised), edited
    /// history, changed settings, failures, turns over HTTP, new connections — with snapshots anywhere, recovering from
    /// the latest snapshot plus the changes after it gives the live session's transcript byte for byte, the same turn
    /// count, and the same next request on a new connection. Every change and snapshot goes through its stored form.
    /// </summary>
    [Fact]
    public void Recovery_from_a_snapshot_and_the_changes_after_it_gives_the_live_transcript_and_the_same_next_request()
    {
        Gen.Enum<Step>().Array[1, 50].Sample(steps =>
        {
            var live = new SessionChain(maxTranscriptItems: 10_000);
            var writer = new SessionRecord();
            byte[]? snapshot = null;
            var changes = new List<byte[]>();
            var caller = new List<JsonElement>();
            string? last = null;
            long epoch = 1;
            var instructions = "be brief";
            var n = 0;
            foreach (var step in steps)
            {
                switch (step)
                {
                    case Step.NewConnection:
                        epoch++;
                        live.Break();
                        continue;
                    case Step.Snapshot:
                        snapshot = writer.Snapshot().ToJson();
                        changes.Clear();
                        continue;
                    case Step.EditHistory when caller.Count > 0:
                        caller[0] = User($"edited {n}");
                        break;
                    case Step.ChangeSettings:
                        instructions = $"instructions {n}";
                        break;
                }

                n++;
                caller.Add(User($"turn {n}"));
                var byId = step == Step.ChainById && last is not null;
                var input = byId ? [caller[^1]] : step == Step.ResendReformatted ? caller.Select(Reformat).ToList() : [.. caller];
                var request = new ResponseRequest { Model = "sim-model", Instructions = instructions, Input = input };
                var submit = new SessionProtocol.SubmitTurn(new SessionKey("t", "c"), "t" + n, request,
                    new TurnOptions { PreviousResponseId = byId ? last : null }, new ChannelTurnOutput(Channel.CreateUnbounded<TurnEvent>().Writer));
                var overHttp = step == Step.OverHttp;
                var (_, fullInput) = live.Plan(submit, overHttp ? SessionChain.NoConnection : epoch, forceFresh: overHttp);
                var before = live.Transcript;
                var output = new List<OutputItem> { new(J($$"""{"type":"message","id":"msg_{{n}}","role":"assistant","content":[{"type":"output_text","text":"answer {{n}}"}]}""")) };
                var result = step == Step.Fail
                    ? new TurnResult { Status = TurnStatus.Failed }
                    : new TurnResult { Status = TurnStatus.Completed, ResponseId = "resp_" + n, Output = output };
                live.Ended(overHttp ? SessionChain.NoConnection : epoch, request, fullInput, result);
                if (result.Status == TurnStatus.Completed)
                {
                    last = result.ResponseId;
                    caller.AddRange(output.Select(o => o.Json));
                }

                if (!ReferenceEquals(before, live.Transcript) && result.Status == TurnStatus.Completed)
                {
                    // What the session's journal child does for a completed turn that changed the transcript.
                    var change = writer.Diff(live.Transcript);
                    var stored = change.ToJson();
                    changes.Add(stored);
                    writer.Apply(TranscriptChange.FromJson(stored));
                }
            }

            var recovered = new SessionRecord();
            if (snapshot is not null)
            {
                recovered.Restore(RecordSnapshot.FromJson(snapshot));
            }

            foreach (var change in changes)
            {
                recovered.Apply(TranscriptChange.FromJson(change));
            }

            AssertSame(live.Transcript, recovered.Transcript);
            Assert.Equal(writer.Turns, recovered.Turns);

            // The next request on a new connection is the same from the live session and the recovered one.
            var restored = new SessionChain(maxTranscriptItems: 10_000);
            restored.Restore(recovered.Transcript);
            var next = new SessionProtocol.SubmitTurn(new SessionKey("t", "c"), "next", new ResponseRequest { Model = "sim-model", Instructions = instructions, Input = [User("next")] },
                new TurnOptions { PreviousResponseId = last }, new ChannelTurnOutput(Channel.CreateUnbounded<TurnEvent>().Writer));
            var (livePlan, _) = live.Plan(next, epoch + 1, forceFresh: false);
            var (recoveredPlan, _) = restored.Plan(next, epoch + 1, forceFresh: false);
            Assert.Equal(livePlan.GetType(), recoveredPlan.GetType());
            Assert.Equal(Raw(livePlan.Input), Raw(recoveredPlan.Input));
        }, iter: 400);
    }

    [Fact]
    public void A_turn_chained_by_id_records_only_its_new_items_and_its_output()
    {
        var record = new SessionRecord();
        var first = new ChainState(1, "resp_1", J("""{"model":"m"}"""), [User("a")], [new OutputItem(J("""{"type":"message","id":"m1","role":"assistant","content":[]}"""))], true);
        record.Apply(TranscriptChange.FromJson(record.Diff(first).ToJson()));
        var second = new ChainState(1, "resp_2", J("""{"model":"m"}"""), [.. first.FullInput, first.Output[0].Json, User("b")], [new OutputItem(J("""{"type":"message","id":"m2","role":"assistant","content":[]}"""))], true);

        var change = record.Diff(second);

        Assert.Equal(2, change.Keep); // the previous input and output, by reference to what is recorded
        Assert.Null(change.Settings); // unchanged settings are not written again
        Assert.Equal(["""{"type":"message","role":"user","content":"b"}"""], change.Added.Select(e => e.GetRawText()));
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static JsonElement Reformat(JsonElement item) => J(JsonSerializer.Serialize(item, Indented));

    private static List<string> Raw(IReadOnlyList<JsonElement> items) =>
        [.. items.Select(i => System.Text.Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8Value(i)))];

    private static void AssertSame(ChainState? expected, ChainState? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }

        Assert.NotNull(actual);
        Assert.Equal(expected.ResponseId, actual.ResponseId);
        Assert.Equal(Raw([expected.Settings]), Raw([actual.Settings]));
        Assert.Equal(Raw(expected.FullInput), Raw(actual.FullInput));
        Assert.Equal(Raw([.. expected.Output.Select(o => o.Json)]), Raw([.. actual.Output.Select(o => o.Json)]));
    }
}
