using System.Text.Json;
using System.Threading.Channels;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;
using Fantasy.Actors.Simulator;
using Xunit.Abstractions;
using static Fantasy.Actors.Testing.Build;
using ApiTurnEvent = Fantasy.Actors.Contract.TurnEvent;

namespace Fantasy.Actors.Tests.Sessions;

public sealed class SessionSpecs(ITestOutputHelper output) : SessionsTestKit("session-specs", output)
{
    private static readonly SessionKey Key = new("tenant-a", "conv-1");

    /// <summary>A stateless caller: keeps the whole conversation and sends all of it every turn.</summary>
    private sealed class Conversation
    {
        public List<JsonElement> Items { get; } = [];

        public ResponseRequest Next(string userText)
        {
            Items.Add(User(userText));
            return Request([.. Items]);
        }

        /// <summary>Appends the turn's output and a result for every function call.</summary>
        public void Absorb(TurnEnd end)
        {
            Items.AddRange(end.Result.Output.Select(o => o.Json));
            foreach (var call in end.Result.FunctionCalls)
            {
                Items.Add(ToolResult(call.CallId));
            }
        }
    }

    private static Task<(List<ServerEvent> Events, TurnEnd End)> CollectAsync(IAsyncEnumerable<ApiTurnEvent> turn) => Turns.CollectAsync(turn);

    private static JsonElement Body(RecordedRequest r) => JsonDocument.Parse(r.Body).RootElement;

    [Fact]
    public async Task A_twenty_turn_tool_loop_sends_full_input_once_then_only_new_items()
    {
        var conversation = new Conversation();
        for (var turn = 1; turn <= 20; turn++)
        {
            var request = conversation.Next(turn % 2 == 1 ? $"step {turn}: CALL lookup 2" : $"step {turn}");
            var end = await Sessions.RunTurnToEndAsync(Key, request).WaitAsync(Patience);

            Assert.Equal(TurnOutcome.Completed, end.Outcome);
            Assert.Equal(turn > 1, end.Chained);
            if (end.Result.FunctionCalls.Count == 0)
            {
                // ok: N counts the server-side context: no item was sent twice, none was lost.
                Assert.EndsWith($"ok: {conversation.Items.Count}", end.Result.Text, StringComparison.Ordinal);
            }

            var sent = Body(Sim.Counters.LastRequests[^1]);
            var input = sent.GetProperty("input");
            if (turn == 1)
            {
                Assert.False(sent.TryGetProperty("previous_response_id", out _));
                Assert.Equal(1, input.GetArrayLength());
            }
            else
            {
                Assert.StartsWith("resp_", sent.GetProperty("previous_response_id").GetString(), StringComparison.Ordinal);

                // Exactly the new items: the tool results of the previous turn's calls (if any) and the new user message.
                var newItems = input.EnumerateArray().ToList();
                Assert.Equal("user", newItems[^1].GetProperty("role").GetString());
                Assert.Equal(turn % 2 == 0 ? 3 : 1, newItems.Count);
            }

            conversation.Absorb(end);
        }

        Assert.Equal(1, Sim.Counters.ConnectionsOpened);
        Assert.Equal(1, Sim.Counters.FreshRequests);
        Assert.Equal(19, Sim.Counters.ChainedRequests);
    }

    [Fact]
    public async Task Edits_that_are_not_appends_go_out_fresh()
    {
        var conversation = new Conversation();
        var first = await Sessions.RunTurnToEndAsync(Key, conversation.Next("hello"));
        conversation.Absorb(first);
        var second = await Sessions.RunTurnToEndAsync(Key, conversation.Next("more"));
        Assert.True(second.Chained);
        conversation.Absorb(second);

        // Compaction: the caller drops the oldest exchange.
        conversation.Items.RemoveRange(0, 2);
        var compacted = await Sessions.RunTurnToEndAsync(Key, conversation.Next("after compaction"));
        Assert.False(compacted.Chained);
        Assert.Equal($"ok: {conversation.Items.Count}", compacted.Result.Text);
        conversation.Absorb(compacted);

        // Edited instructions.
        var edited = Request([.. conversation.Items, User("new rules")]);
        edited = ResponseRequest.Parse(System.Text.Encoding.UTF8.GetBytes(
            JsonDocument.Parse(System.Text.Encoding.UTF8.GetString(edited.ToHttpBody(stream: false))).RootElement.GetRawText().Replace("be brief", "be thorough", StringComparison.Ordinal)));
        var changed = await Sessions.RunTurnToEndAsync(Key, edited);
        Assert.False(changed.Chained);
        Assert.Equal(TurnOutcome.Completed, changed.Outcome);
    }

    [Theory]
    [InlineData(UpstreamError.PreviousResponseNotFound)]
    [InlineData(UpstreamError.ConnectionLimitReached)]
    public async Task A_lost_server_cache_is_replayed_with_full_input_invisibly(string code)
    {
        var conversation = new Conversation();
        conversation.Absorb(await Sessions.RunTurnToEndAsync(Key, conversation.Next("one")));
        Sim.Faults.SendError(400, code, $"injected {code}");

        var (events, end) = await CollectAsync(Sessions.RunTurnAsync(Key, conversation.Next("two")));

        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        Assert.Equal($"ok: {conversation.Items.Count}", end.Result.Text);
        Assert.DoesNotContain(events, e => e is ErrorEvent);
        Assert.IsType<ResponseCreated>(events[0]);
        Assert.False(end.Chained);
        var status = await Sessions.GetStatusAsync(Key);
        Assert.Equal(1, status!.Replays);
        Assert.Equal(2, Sim.Counters.ConnectionsOpened);

        // The replay went out with the whole conversation.
        Assert.Equal(conversation.Items.Count, Body(Sim.Counters.LastRequests[^1]).GetProperty("input").GetArrayLength());
    }

    [Fact]
    public async Task A_connection_limit_that_keeps_coming_is_replayed_three_times_then_the_turn_goes_over_http()
    {
        var conversation = new Conversation();
        conversation.Absorb(await Sessions.RunTurnToEndAsync(Key, conversation.Next("one")));

        // The first request and every replay's answer is the limit error: four WebSocket answers in a row.
        Sim.Faults.SendError(400, UpstreamError.ConnectionLimitReached, "injected limit", turns: 4, transport: FaultTransport.WebSocket);
        var (events, end) = await CollectAsync(Sessions.RunTurnAsync(Key, conversation.Next("two")));

        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        Assert.Equal(Transport.Http, end.Transport);
        Assert.Equal($"ok: {conversation.Items.Count}", end.Result.Text);
        Assert.DoesNotContain(events, e => e is ErrorEvent);
        var status = await Sessions.GetStatusAsync(Key);
        Assert.Equal(3, status!.Replays);
        Assert.Equal(1, status.Fallbacks);
        Assert.Equal(4, Sim.Counters.ConnectionsOpened);

        // The next turn tries WebSocket again.
        conversation.Absorb(end);
        var next = await Sessions.RunTurnToEndAsync(Key, conversation.Next("three"));
        Assert.Equal(TurnOutcome.Completed, next.Outcome);
        Assert.Equal(Transport.WebSocket, next.Transport);
    }

    [Fact]
    public async Task A_lost_cache_that_comes_again_after_its_replay_is_reported()
    {
        var conversation = new Conversation();
        conversation.Absorb(await Sessions.RunTurnToEndAsync(Key, conversation.Next("one")));
        Sim.Faults.SendError(400, UpstreamError.PreviousResponseNotFound, "injected", turns: 2, transport: FaultTransport.WebSocket);

        var end = await Sessions.RunTurnToEndAsync(Key, conversation.Next("two"));

        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.Equal(UpstreamError.PreviousResponseNotFound, end.Error!.Code);
        Assert.Equal(1, (await Sessions.GetStatusAsync(Key))!.Replays);
    }

    [Fact]
    public async Task A_turn_of_large_events_streams_to_its_end_under_a_small_byte_window()
    {
        // 64 KiB window, 16 KiB deltas: the window fills after 4 events, so the caller's acknowledgements must
        // follow bytes too (acknowledging every 32 events would leave both sides waiting for ever).
        Sessions = Start("fantasy.session.consumer-window-bytes = 64KiB", name: "small-byte-window");
        var (events, end) = await CollectAsync(Sessions.RunTurnAsync(Key, Request(User("LONG 2048")))).WaitAsync(Patience);

        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        Assert.EndsWith("ok: 1", end.Result.Text, StringComparison.Ordinal);
        Assert.True(events.Count(e => e is OutputTextDelta) >= 128);
        Assert.True(end.Result.Text.Length > 2 * 1024 * 1024 - 1024);
    }

    [Fact]
    public async Task A_caller_that_stops_reading_leaves_at_most_the_byte_window_unread_however_long_the_answer()
    {
        const int window = 256 * 1024;
        Sessions = Start($"fantasy.session.consumer-window-bytes = {window}", name: "stalled-reader");
        var key = new SessionKey("tenant-a", "stalled");

        // About 12 MiB of answer in 16 KiB deltas; the caller takes the start and one event, then stops reading.
        var turn = Sessions.RunTurnAsync(key, Request(User("LONG 12288"))).GetAsyncEnumerator();
        try
        {
            Assert.True(await turn.MoveNextAsync());
            Assert.IsType<TurnStarted>(turn.Current);
            Assert.True(await turn.MoveNextAsync());

            SessionStatus? status = null;
            await AwaitConditionAsync(async () => (status = await Sessions.GetStatusAsync(key))!.UnreadBytes >= window, Patience);

            // The window is full: the socket is not read any more, and what waits unread is the window plus at
            // most one event, not the 12 MiB answer — when it first fills and on every look after.
            Assert.InRange(status!.UnreadBytes, window, window + (17 * 1024));
            for (var look = 0; look < 20; look++)
            {
                var later = await Sessions.GetStatusAsync(key);
                Assert.Equal(status.UnreadEvents, later!.UnreadEvents);
                Assert.True(later.Busy);
            }
        }
        finally
        {
            await turn.DisposeAsync(); // leaving the enumeration cancels the turn
        }

        await AwaitConditionAsync(async () => !(await Sessions.GetStatusAsync(key))!.Busy, Patience);
    }

    [Fact]
    public async Task A_socket_lost_after_the_request_went_out_but_before_any_event_is_replayed_once()
    {
        var conversation = new Conversation();
        conversation.Absorb(await Sessions.RunTurnToEndAsync(Key, conversation.Next("one")));
        var requestsBefore = Sim.Counters.ResponseCreateFrames;

        // The server takes the request, then drops the socket before sending anything.
        Sim.Faults.CloseAfterEvents(0, transport: FaultTransport.WebSocket);
        var (events, end) = await CollectAsync(Sessions.RunTurnAsync(Key, conversation.Next("two")));

        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        Assert.Equal($"ok: {conversation.Items.Count}", end.Result.Text);
        Assert.Single(events.OfType<ResponseCreated>()); // the caller saw one answer
        Assert.Equal(requestsBefore + 2, Sim.Counters.ResponseCreateFrames); // the upstream saw two requests
        Assert.Equal(1, (await Sessions.GetStatusAsync(Key))!.Replays);
    }

    [Fact]
    public async Task A_socket_lost_after_the_first_event_fails_the_turn_and_is_never_replayed()
    {
        var conversation = new Conversation();
        conversation.Absorb(await Sessions.RunTurnToEndAsync(Key, conversation.Next("one")));
        var requestsBefore = Sim.Counters.ResponseCreateFrames;

        Sim.Faults.CloseAfterEvents(1, transport: FaultTransport.WebSocket);
        var (events, end) = await CollectAsync(Sessions.RunTurnAsync(Key, conversation.Next("two")));

        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.True(end.Retryable);
        Assert.Single(events);
        Assert.Equal(requestsBefore + 1, Sim.Counters.ResponseCreateFrames);
        Assert.Equal(0, (await Sessions.GetStatusAsync(Key))!.Replays);
    }

    [Fact]
    public async Task A_caller_chaining_itself_never_sees_a_lost_cache_for_an_id_of_this_session()
    {
        var first = await Sessions.RunTurnToEndAsync(Key, Request(User("hi")));
        Sim.Faults.SendError(400, UpstreamError.PreviousResponseNotFound, "gone");

        var next = await Sessions.RunTurnToEndAsync(Key, Request(User("and then")), new TurnOptions { PreviousResponseId = first.ResponseId });

        Assert.Equal(TurnOutcome.Completed, next.Outcome);
        // user + assistant + user: the transcript filled in what the server had lost.
        Assert.Equal("ok: 3", next.Result.Text);
    }

    [Fact]
    public async Task An_unknown_previous_response_id_is_reported_not_hidden()
    {
        var end = await Sessions.RunTurnToEndAsync(Key, Request(User("x")), new TurnOptions { PreviousResponseId = "resp_unknown" });

        Assert.Equal(TurnOutcome.Failed, end.Outcome);
        Assert.Equal(UpstreamError.PreviousResponseNotFound, end.Error!.Code);
    }

    [Fact]
    public async Task An_idle_connection_is_rotated_at_max_age_and_the_next_turn_is_complete()
    {
        var conversation = new Conversation();
        conversation.Absorb(await Sessions.RunTurnToEndAsync(Key, conversation.Next("one")));

        Clock.Advance(TimeSpan.FromMinutes(55));
        await AwaitConditionAsync(() => Task.FromResult(Sim.Counters.ConnectionsOpened == 2), Patience);
        var status = await Sessions.GetStatusAsync(Key);
        Assert.Equal(1, status!.Rotations);
        Assert.Equal(2, status.ConnectionEpoch);

        var after = await Sessions.RunTurnToEndAsync(Key, conversation.Next("two"));
        Assert.Equal(TurnOutcome.Completed, after.Outcome);
        Assert.False(after.Chained);
        Assert.Equal($"ok: {conversation.Items.Count}", after.Result.Text);
    }

    [Fact]
    public async Task A_busy_connection_is_rotated_right_after_its_turn()
    {
        var conversation = new Conversation();
        conversation.Absorb(await Sessions.RunTurnToEndAsync(Key, conversation.Next("one")));
        Sim.Faults.Stall(TimeSpan.FromSeconds(3));

        await using var turn = Sessions.RunTurnAsync(Key, conversation.Next("two")).GetAsyncEnumerator();
        Assert.True(await turn.MoveNextAsync());
        Assert.Equal(new TurnStarted(Transport.WebSocket, Chained: true), turn.Current);
        Assert.True(await turn.MoveNextAsync());
        Assert.IsType<ResponseCreated>(Assert.IsType<TurnUpstreamEvent>(turn.Current).Event);
        Clock.Advance(TimeSpan.FromMinutes(55));

        TurnEnd? end = null;
        while (await turn.MoveNextAsync())
        {
            end = (turn.Current as TurnFinished)?.End ?? end;
        }

        Assert.Equal(TurnOutcome.Completed, end!.Outcome);
        Assert.True(end.Chained);
        await AwaitConditionAsync(() => Task.FromResult(Sim.Counters.ConnectionsOpened == 2), Patience);
        Assert.Equal(1, (await Sessions.GetStatusAsync(Key))!.Rotations);
        conversation.Absorb(end);
        var three = await Sessions.RunTurnToEndAsync(Key, conversation.Next("three"));
        Assert.Equal($"ok: {conversation.Items.Count}", three.Result.Text);
    }

    [Fact]
    public async Task Warm_on_rotate_primes_the_new_connection_so_the_next_turn_is_a_delta()
    {
        Sessions = Start("fantasy.session.warm-on-rotate = on", "warm-sessions");
        var conversation = new Conversation();
        conversation.Absorb(await Sessions.RunTurnToEndAsync(Key, conversation.Next("one")));

        Clock.Advance(TimeSpan.FromMinutes(55));
        await AwaitConditionAsync(() => Task.FromResult(Sim.Counters.Warmups == 1), Patience);

        var two = await Sessions.RunTurnToEndAsync(Key, conversation.Next("two"));
        Assert.True(two.Chained);
        Assert.Equal($"ok: {conversation.Items.Count}", two.Result.Text);
        Assert.Equal(1, Body(Sim.Counters.LastRequests[^1]).GetProperty("input").GetArrayLength());
    }

    [Fact]
    public async Task A_warm_up_returns_its_id_and_the_next_turn_is_a_delta()
    {
        var conversation = new Conversation();
        var (events, warm) = await CollectAsync(Sessions.RunTurnAsync(Key, conversation.Next("context"), new TurnOptions { GenerateWarmup = true }));

        Assert.Equal(TurnOutcome.Completed, warm.Outcome);
        Assert.StartsWith("resp_", warm.ResponseId, StringComparison.Ordinal);
        Assert.Empty(warm.Result.Output);
        Assert.DoesNotContain(events, e => e is OutputTextDelta);
        Assert.Equal(1, Sim.Counters.Warmups);

        var turn = await Sessions.RunTurnToEndAsync(Key, conversation.Next("question"));
        Assert.True(turn.Chained);
        Assert.Equal("ok: 2", turn.Result.Text);
        Assert.Equal(warm.ResponseId, Body(Sim.Counters.LastRequests[^1]).GetProperty("previous_response_id").GetString());
    }

    [Fact]
    public async Task A_full_queue_rejects_with_busy_and_a_stale_turn_with_timeout()
    {
        Sessions = Start("fantasy.session.max-queued-turns = 1\nfantasy.session.queue-wait-timeout = 30s", "queue-sessions");
        Sim.Faults.Stall(TimeSpan.FromSeconds(3));
        await using var running = Sessions.RunTurnAsync(Key, Request(User("slow"))).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());

        var queued = Sessions.RunTurnToEndAsync(Key, Request(User("queued")));
        var overflow = await Sessions.RunTurnToEndAsync(Key, Request(User("overflow"))).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Rejected, overflow.Outcome);
        Assert.Equal(Rejection.QueueFull, overflow.Rejection);
        Assert.Contains("session.max-queued-turns", overflow.Reason, StringComparison.Ordinal);
        Assert.True(overflow.Retryable);

        Clock.Advance(TimeSpan.FromSeconds(30));
        var timedOut = await queued.WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Rejected, timedOut.Outcome);
        Assert.Equal(Rejection.QueueTimeout, timedOut.Rejection);
        Assert.Contains("session.queue-wait-timeout", timedOut.Reason, StringComparison.Ordinal);

        ApiTurnEvent last = running.Current;
        while (await running.MoveNextAsync())
        {
            last = running.Current;
        }

        Assert.Equal(TurnOutcome.Completed, Assert.IsType<TurnFinished>(last).End.Outcome);
    }

    [Fact]
    public async Task Cancelling_a_running_turn_ends_it_cancelled_and_the_next_turn_runs_on_a_new_socket()
    {
        Sim.Faults.Stall(TimeSpan.FromSeconds(10));
        using var cts = new CancellationTokenSource();
        var items = new List<ApiTurnEvent>();
        await foreach (var item in Sessions.RunTurnAsync(Key, Request(User("long")), cancellationToken: cts.Token))
        {
            items.Add(item);
            if (items.Count == 1)
            {
                await cts.CancelAsync();
            }
        }

        var end = Assert.IsType<TurnFinished>(items[^1]).End;
        Assert.Equal(TurnOutcome.Cancelled, end.Outcome);
        Assert.Single(items, i => i is TurnFinished);

        var next = await Sessions.RunTurnToEndAsync(Key, Request(User("again"))).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, next.Outcome);
        Assert.Equal(2, Sim.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task A_turn_queued_behind_an_interrupted_one_runs_on_a_new_connection()
    {
        // The first turn's socket drops after three events have been delivered (no replay is possible), and the
        // connection closes itself: the queued turn must go to a new connection, not to the closing one.
        Sim.Faults.CloseAfterEvents(3, transport: FaultTransport.WebSocket);
        Sim.Faults.Stall(TimeSpan.FromSeconds(1));
        await using var first = Sessions.RunTurnAsync(Key, Request(User("first: ok: 20"))).GetAsyncEnumerator();
        Assert.True(await first.MoveNextAsync());
        var queued = Sessions.RunTurnToEndAsync(Key, Request(User("queued")));

        ApiTurnEvent last = first.Current;
        while (await first.MoveNextAsync())
        {
            last = first.Current;
        }

        var interrupted = Assert.IsType<TurnFinished>(last).End;
        Assert.Equal(TurnOutcome.Failed, interrupted.Outcome);
        Assert.True(interrupted.Retryable);

        var next = await queued.WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, next.Outcome);
        Assert.Equal(2, Sim.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task A_turn_submitted_as_soon_as_a_cancel_ends_runs_on_a_new_connection()
    {
        for (var round = 1; round <= 5; round++)
        {
            Sim.Faults.Stall(TimeSpan.FromSeconds(10));
            using var cts = new CancellationTokenSource();
            await foreach (var item in Sessions.RunTurnAsync(Key, Request(User($"long {round}")), cancellationToken: cts.Token))
            {
                if (item is TurnUpstreamEvent)
                {
                    await cts.CancelAsync();
                }
            }

            // Submitted the moment the cancelled turn ended, racing the old connection's close report.
            var next = await Sessions.RunTurnToEndAsync(Key, Request(User($"again {round}"))).WaitAsync(Patience);
            Assert.Equal(TurnOutcome.Completed, next.Outcome);
        }

        Assert.Equal(6, Sim.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task A_crash_inside_the_session_fails_the_running_turn_and_keeps_the_queued_ones()
    {
        var manager = await Sys.ActorSelection("/user/fantasy-sessions").ResolveOne(Patience);
        var broken = new BrokenWriter();
        var healthy = Channel.CreateUnbounded<ApiTurnEvent>();
        Sim.Faults.Stall(TimeSpan.FromSeconds(1));

        manager.Tell(new SessionProtocol.SubmitTurn(Key, "t-broken", Request(User("one")), TurnOptions.Default, new ChannelTurnOutput(broken)), TestActor);
        manager.Tell(new SessionProtocol.SubmitTurn(Key, "t-queued", Request(User("two")), TurnOptions.Default, new ChannelTurnOutput(healthy.Writer)), TestActor);

        var finished = await broken.Finished.Task.WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Failed, finished.Outcome);
        Assert.True(finished.Retryable);

        var items = new List<ApiTurnEvent>();
        await foreach (var item in healthy.Reader.ReadAllAsync().WithCancellation(new CancellationTokenSource(Patience).Token))
        {
            items.Add(item);
        }

        Assert.Equal(TurnOutcome.Completed, Assert.IsType<TurnFinished>(items[^1]).End.Outcome);
    }

    /// <summary>A consumer whose first event write throws inside the session (a bug in the session's hands).</summary>
    private sealed class BrokenWriter : ChannelWriter<ApiTurnEvent>
    {
        public TaskCompletionSource<TurnEnd> Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool TryWrite(ApiTurnEvent item)
        {
            if (item is TurnFinished f)
            {
                Finished.TrySetResult(f.End);
                return true;
            }

            throw new InvalidOperationException("consumer exploded");
        }

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(true);
    }

    [Fact]
    public async Task A_thousand_sessions_times_five_turns_each_end_exactly_once()
    {
        const int SessionCount = 1000;
        const int Turns = 5;
        var terminals = 0;
        var completed = 0;

        await Parallel.ForEachAsync(Enumerable.Range(0, SessionCount), new ParallelOptions { MaxDegreeOfParallelism = SessionCount }, async (s, ct) =>
        {
            var key = new SessionKey("load", $"c{s}");
            var conversation = new Conversation();
            for (var t = 0; t < Turns; t++)
            {
                var (_, end) = await CollectAsync(Sessions.RunTurnAsync(key, conversation.Next($"turn {t}"), cancellationToken: ct));
                Interlocked.Increment(ref terminals);
                if (end.Outcome == TurnOutcome.Completed && end.Result.Text == $"ok: {conversation.Items.Count}")
                {
                    Interlocked.Increment(ref completed);
                }

                conversation.Absorb(end);
            }
        }).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(SessionCount * Turns, terminals);
        Assert.Equal(SessionCount * Turns, completed);
        Assert.Equal(SessionCount, Sim.Counters.ConnectionsOpened);
        Assert.Equal(SessionCount * (Turns - 1), Sim.Counters.ChainedRequests);
    }

    [Fact]
    public void Session_keys_are_validated()
    {
        Assert.Equal("t~c", new SessionKey("t", "c").SessionId);
        var ex = Assert.Throws<ArgumentException>(() => new SessionKey("tenant", "has space"));
        Assert.Contains("letters, digits", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new SessionKey("", "c"));
        Assert.Throws<ArgumentException>(() => new SessionKey("t", new string('x', 129)));
        Assert.Throws<ArgumentException>(() => new SessionKey("a~b", "c"));
    }

    [Fact]
    public async Task Status_of_an_unknown_session_is_null_and_close_reports_existence()
    {
        Assert.Null(await Sessions.GetStatusAsync(new SessionKey("nobody", "here")));
        await Sessions.RunTurnToEndAsync(Key, Request(User("hi")));
        var status = await Sessions.GetStatusAsync(Key);
        Assert.Equal("tenant-a~conv-1", status!.SessionId);
        Assert.Equal(1, status.Turns);
        Assert.Equal(ConnectionState.Open, status.ConnectionState);
        Assert.False(status.LastTurnChained);
        Assert.True(await Sessions.CloseAsync(Key));
        Assert.False(await Sessions.CloseAsync(new SessionKey("nobody", "here")));
    }

    [Fact]
    public async Task An_idle_session_closes_its_socket_then_stops_and_a_later_turn_starts_fresh()
    {
        Sessions = Start("fantasy.session.idle-close-after = 5m\nfantasy.session.session-idle-timeout = 60m", "idle-sessions");
        var conversation = new Conversation();
        conversation.Absorb(await Sessions.RunTurnToEndAsync(Key, conversation.Next("one")));

        Clock.Advance(TimeSpan.FromMinutes(5));
        await AwaitConditionAsync(() => Task.FromResult(Sim.Counters.ConnectionsOpen == 0), Patience);
        var status = await Sessions.GetStatusAsync(Key);
        Assert.Equal(ConnectionState.None, status!.ConnectionState);
        Assert.Equal(1, status.Turns);

        Clock.Advance(TimeSpan.FromMinutes(55));
        await AwaitAssertAsync(async () => Assert.Null(await Sessions.GetStatusAsync(Key)), Patience);

        var later = await Sessions.RunTurnToEndAsync(Key, conversation.Next("two")).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, later.Outcome);
        Assert.False(later.Chained);
        Assert.Equal($"ok: {conversation.Items.Count}", later.Result.Text);
        Assert.Equal(1, (await Sessions.GetStatusAsync(Key))!.Turns);
    }

    [Fact]
    public async Task A_closed_session_can_be_started_again_by_its_next_turn()
    {
        await Sessions.RunTurnToEndAsync(Key, Request(User("one")));
        Assert.True(await Sessions.CloseAsync(Key));
        var again = await Sessions.RunTurnToEndAsync(Key, Request(User("two"))).WaitAsync(Patience);
        Assert.Equal(TurnOutcome.Completed, again.Outcome);
        Assert.Equal(1, (await Sessions.GetStatusAsync(Key))!.Turns);
    }

    [Fact]
    public async Task A_consumer_that_stops_reading_holds_the_turn_at_the_window()
    {
        var manager = await Sys.ActorSelection("/user/fantasy-sessions").ResolveOne(Patience);
        var channel = Channel.CreateUnbounded<ApiTurnEvent>();
        manager.Tell(new SessionProtocol.SubmitTurn(Key, "t-slow", Request(User("CALL f 200")), TurnOptions.Default, new ChannelTurnOutput(channel.Writer)), TestActor);

        // Nobody takes events: exactly the consumer window arrives (after TurnStarted), and no more.
        await AwaitConditionAsync(() => Task.FromResult(channel.Reader.Count == 1 + 256), Patience);
        for (var look = 0; look < 20; look++)
        {
            // Each look is a round trip through the session's mailbox, behind anything the connection sent it.
            Assert.Equal(256, (await Sessions.GetStatusAsync(Key))!.UnreadEvents);
            Assert.Equal(1 + 256, channel.Reader.Count);
        }

        // Taking them lets the rest of the turn through.
        var count = 0;
        TurnEnd? end = null;
        await foreach (var item in channel.Reader.ReadAllAsync().WithCancellation(new CancellationTokenSource(Patience).Token))
        {
            count++;
            if (item is TurnFinished f)
            {
                end = f.End;
            }
            else if (item is TurnUpstreamEvent)
            {
                manager.Tell(new SessionProtocol.TurnEventTaken(Key, "t-slow"), TestActor);
            }
        }

        Assert.Equal(TurnOutcome.Completed, end!.Outcome);
        Assert.Equal(200, end.Result.FunctionCalls.Count);
        Assert.True(count > 256);
    }

    [Fact]
    public async Task A_turn_far_longer_than_the_consumer_window_streams_through_the_api()
    {
        // About 800 events against a window of 256: the API's grouped acknowledgements must keep it moving.
        var (events, end) = await CollectAsync(Sessions.RunTurnAsync(Key, Request(User("CALL f 200"))));

        Assert.Equal(TurnOutcome.Completed, end.Outcome);
        Assert.Equal(200, end.Result.FunctionCalls.Count);
        Assert.True(events.Count > 3 * 256, $"{events.Count} events");
        Assert.Equal(events.Count, end.Result.EventCount);
    }
}
