using Fantasy.Actors.Streams;
using System.Net.Http.Headers;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Util;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Protocol;
using static Fantasy.Actors.Fallback.HttpFallbackProtocol;

namespace Fantasy.Actors.Fallback;

/// <summary>
/// One turn over HTTP: <c>POST {base}/responses</c> with <c>stream:true</c>, the SSE body parsed by the same
/// <see cref="EventParser"/> inside an Akka.Streams graph and delivered with acknowledgement, each event
/// forwarded to the reply-to, exactly one terminal report. Retries like the official SDKs, and only before
/// the first event reached the caller: connect errors, 408, 409, 429, ≥ 500, <c>x-should-retry: true</c>
/// (never when false), waiting <c>retry-after-ms</c>, else <c>Retry-After</c>, else
/// <c>initial-backoff</c>·2ⁿ (capped, with jitter); a server asking for more than <c>max-retry-delay</c> is
/// not waited for. Every wait is an actor timer. Stops after its terminal report.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "An actor releases its request and response in PostStop.")]
internal sealed class HttpTurnActor : UntypedActor, IWithTimers
{
    private const string RetryKey = "retry";
    private const string TimeoutKey = "request-timeout";
    private const int MaxErrorBody = 64 * 1024;

    private readonly RunHttpTurn run;
    private readonly FantasySettings settings;
    private readonly HttpClient client;
    private readonly UpstreamCredentials credentials;
    private readonly ILoggingAdapter log;
    private readonly TurnAccumulator accumulator;
    private readonly Dictionary<string, string> metadata = new(StringComparer.OrdinalIgnoreCase);
    private readonly InboundDelivery delivery = new();
    private readonly Func<bool> canTake;
    private readonly Action<object> take;

    private CancellationTokenSource? attemptCts;
    private HttpResponseMessage? streaming;
    private UniqueKillSwitch? killSwitch;
    private int attempts;
    private int forwarded;
    private readonly UnreadWindow unread;
    private bool done;

    public HttpTurnActor(RunHttpTurn run, FantasySettings settings, HttpClient client, UpstreamCredentials credentials)
    {
        this.run = run;
        this.settings = settings;
        this.client = client;
        this.credentials = credentials;
        log = Context.GetLogger().WithContext("TurnId", run.TurnId);
        unread = new UnreadWindow(run.ConsumerWindow, run.ConsumerWindowBytes);
        accumulator = new TurnAccumulator(run.FoldDeltas);
        canTake = () => !done && !unread.Full;
        take = Take;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(RunHttpTurn run, FantasySettings settings, HttpClient client, UpstreamCredentials credentials) =>
        Akka.Actor.Props.Create(() => new HttpTurnActor(run, settings, client, credentials));

    private sealed record Answered(HttpResponseMessage Response, int Attempt);

    private sealed record SendFailed(Exception Cause, int Attempt);

    private sealed record ErrorBody(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body, int Attempt);

    private sealed record BodyOpened(Stream Body, int Attempt);

    private sealed record Retry;

    private sealed record TimedOut(int Attempt);


    private Uri Endpoint => new(settings.Upstream.BaseUrl.ToString().TrimEnd('/') + "/responses");

    private static DateTimeOffset Now => Context.System.Scheduler.Now;

    protected override void PreStart() => Attempt();

    private void Attempt()
    {
        attempts++;
        attemptCts?.Dispose();
        attemptCts = new CancellationTokenSource();
        var attempt = attempts;
        var request = new HttpRequestMessage(HttpMethod.Post, Endpoint)
        {
            Content = new ByteArrayContent(run.Body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credentials.ApiKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.TryAddWithoutValidation("User-Agent", settings.Upstream.UserAgent);
        if (credentials.Organization is { } org) request.Headers.TryAddWithoutValidation("OpenAI-Organization", org);
        if (credentials.Project is { } project) request.Headers.TryAddWithoutValidation("OpenAI-Project", project);
        if (attempt > 1) request.Headers.TryAddWithoutValidation("x-stainless-retry-count", (attempt - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));

        Timers.StartSingleTimer(TimeoutKey, new TimedOut(attempt), settings.Http.RequestTimeout);
        FantasyMetrics.BytesSent.Add(run.Body.Length, new KeyValuePair<string, object?>("transport", "http"));
        client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptCts.Token)
            .PipeTo(Self, Self, r => new Answered(r, attempt), ex => new SendFailed(ex, attempt));
        log.Debug("http turn {TurnId}: attempt {Attempt} to {Endpoint}", run.TurnId, attempt, Endpoint);
    }

    protected override void OnReceive(object message)
    {
        if (done)
        {
            if (message is Answered late)
            {
                late.Response.Dispose();
            }

            return;
        }

        switch (message)
        {
            case Answered answered when answered.Attempt == attempts:
                OnAnswered(answered.Response);
                break;
            case Answered stale:
                stale.Response.Dispose();
                break;
            case SendFailed failed when failed.Attempt == attempts:
                var cause = failed.Cause is TaskCanceledException && attemptCts is { IsCancellationRequested: true }
                    ? $"no answer within {settings.Http.RequestTimeout} (fantasy.http.request-timeout)"
                    : ExceptionText.Flatten(failed.Cause);
                RetryOrFail(UpstreamError.FromTransport($"the HTTP request failed: {cause}"), retryable: true);
                break;
            case ErrorBody body when body.Attempt == attempts:
                var error = UpstreamError.FromHttpResponse(body.Status, body.Headers, body.Body);
                RetryOrFail(error, retryable: error.IsRetryable || error.Origin == ErrorOrigin.Transport);
                break;
            case BodyOpened opened when opened.Attempt == attempts:
                StartStream(opened.Body);
                break;
            case Retry:
                Attempt();
                break;
            case TimedOut timedOut when timedOut.Attempt == attempts:
                // Cancelling the request surfaces as SendFailed (before headers) or as a stream failure (after).
                attemptCts?.Cancel();
                break;
            case HttpEventConsumed consumed:
                unread.Consumed(consumed.Count);
                Drain();
                break;
            case InboundDelivery.Completed:
                Drain();
                if (!done)
                {
                    EndedWithoutTerminal("the SSE stream ended before the response's terminal event");
                }

                break;
            case InboundDelivery.Failed f:
                if (!done)
                {
                    EndedWithoutTerminal($"the SSE stream failed: {ExceptionText.Flatten(f.Cause)}");
                }

                break;
            case CancelHttpTurn:
                Finish(new HttpTurnCancelled(run.TurnId, forwarded));
                break;
            default:
                delivery.Handle(message, Sender, canTake, take);
                break;
        }
    }

    private void OnAnswered(HttpResponseMessage response)
    {
        CaptureMetadata(response);
        var status = (int)response.StatusCode;
        var headers = Headers(response);
        if (response.IsSuccessStatusCode)
        {
            streaming = response;
            var attempt = attempts;
            response.Content.ReadAsStreamAsync(attemptCts!.Token)
                .PipeTo(Self, Self, s => new BodyOpened(s, attempt), ex => new SendFailed(ex, attempt));
            return;
        }

        var errorAttempt = attempts;
        ReadBoundedAsync(response, attemptCts!.Token)
            .PipeTo(Self, Self, b => new ErrorBody(status, headers, b, errorAttempt), _ => new ErrorBody(status, headers, [], errorAttempt));
    }

    private void StartStream(Stream body)
    {
        var self = Self;
        var ct = attemptCts!.Token;
        killSwitch = Source.From(() => SseEventReader.ReadAsync(body, settings.Connection.KeepRawEvents, textAsReceived: !run.FoldDeltas, ct))
            .Select(static e => (object)e)
            .Recover(static ex => Option<object>.Create(new InboundFault(ex)))
            .ViaMaterialized(KillSwitches.Single<object>(), Keep.Right)
            .Via(InboundFrames.Batches(InboundFrames.ReadAhead))
            .To(InboundDelivery.Sink(self))
            .Run(StreamMaterializer.For(Context.System)); // shared: no stream-supervisor actor per turn; PostStop aborts it
    }

    /// <summary>Hands buffered elements on while the consumer window allows; acknowledges the stream once all are taken.</summary>
    private void Drain() => delivery.Drain(canTake, take);

    private void Take(object element)
    {
        switch (element)
        {
            case ServerEvent e:
                OnEvent(e);
                break;
            case InboundFault fault:
                EndedWithoutTerminal(fault.Cause is ProtocolException pe
                    ? $"a malformed SSE event: {pe.Message}"
                    : $"the SSE stream failed: {ExceptionText.Flatten(fault.Cause)}");
                break;
        }
    }

    private void OnEvent(ServerEvent e)
    {
        Timers.Cancel(TimeoutKey);
        run.ReplyTo.Tell(new HttpEventReceived(run.TurnId, forwarded++, e));
        unread.Sent(e.ReceivedBytes);
        if (accumulator.Apply(e) == TurnProgress.Ended)
        {
            var result = accumulator.ToResult();
            Finish(new HttpTurnEnded(run.TurnId, result, forwarded, metadata));
            return;
        }

        if (e is ErrorEvent error)
        {
            // Over SSE an error event ends the stream: the turn ends with it.
            Finish(new HttpTurnFailed(run.TurnId, error.Error, error.Error.IsRetryable, forwarded, attempts, metadata));
        }
    }

    private void EndedWithoutTerminal(string reason)
    {
        if (forwarded == 0)
        {
            RetryOrFail(UpstreamError.FromTransport(reason), retryable: true);
            return;
        }

        Finish(new HttpTurnFailed(run.TurnId, UpstreamError.FromTransport($"{reason} after {forwarded} events"), Retryable: true, forwarded, attempts, metadata));
    }

    /// <summary>Before any event reached the caller: retry when allowed and affordable; otherwise the turn fails.</summary>
    private void RetryOrFail(UpstreamError error, bool retryable)
    {
        killSwitch?.Shutdown();
        killSwitch = null;
        streaming?.Dispose();
        streaming = null;
        delivery.Clear();
        if (run.BudgetShared && error.IsRateLimited && forwarded == 0)
        {
            // The credential's budget decides when this turn goes again, for every session at once: the session resends it.
            Finish(new HttpTurnFailed(run.TurnId, error, Retryable: true, forwarded, attempts, metadata));
            return;
        }

        if (retryable && forwarded == 0 && attempts <= settings.Http.MaxRetries)
        {
            var delay = error.GetRetryAfter(Now) ?? Backoff(attempts);
            if (delay <= settings.Http.MaxRetryDelay)
            {
                log.Info("http turn {TurnId}: attempt {Attempt} failed ({Error}); retrying in {Delay}", run.TurnId, attempts, error.Message, delay);
                Timers.Cancel(TimeoutKey);
                Timers.StartSingleTimer(RetryKey, new Retry(), delay);
                return;
            }

            Finish(new HttpTurnFailed(run.TurnId, error, Retryable: true, forwarded, attempts, metadata));
            log.Warning("http turn {TurnId}: the server asked to wait {Delay}, above fantasy.http.max-retry-delay", run.TurnId, delay);
            return;
        }

        Finish(new HttpTurnFailed(run.TurnId, error, retryable, forwarded, attempts, metadata));
    }

    private TimeSpan Backoff(int attempt)
    {
        var exponential = settings.Http.InitialBackoff.Ticks * Math.Pow(2, attempt - 1);
        var capped = Math.Min(exponential, settings.Http.MaxBackoff.Ticks);
        return TimeSpan.FromTicks((long)(capped * (1 - (0.25 * Random.Shared.NextDouble()))));
    }

    private void Finish(object report)
    {
        if (done)
        {
            return;
        }

        done = true;
        run.ReplyTo.Tell(report);
        Context.Stop(Self);
    }

    private void CaptureMetadata(HttpResponseMessage response)
    {
        foreach (var (name, values) in response.Headers)
        {
            if (name.Equals("x-request-id", StringComparison.OrdinalIgnoreCase) || name.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase)
                || name.Equals("openai-processing-ms", StringComparison.OrdinalIgnoreCase))
            {
                metadata[name.ToLowerInvariant()] = string.Join(",", values);
            }
        }
    }

    private static List<KeyValuePair<string, string>> Headers(HttpResponseMessage response) =>
        response.Headers.Concat(response.Content.Headers)
            .Select(h => new KeyValuePair<string, string>(h.Key, string.Join(",", h.Value)))
            .ToList();

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, CancellationToken ct)
    {
        using (response)
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var buffer = new byte[MaxErrorBody];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(total), ct).ConfigureAwait(false)) > 0)
            {
                total += read;
            }

            return buffer.AsSpan(0, total).ToArray();
        }
    }


    protected override void PostStop()
    {
        if (!done)
        {
            run.ReplyTo.Tell(new HttpTurnFailed(run.TurnId, UpstreamError.FromTransport("the HTTP turn stopped"), Retryable: true, forwarded, attempts, metadata));
        }

        killSwitch?.Abort(new OperationCanceledException("the HTTP turn ended"));
        attemptCts?.Cancel();
        attemptCts?.Dispose();
        streaming?.Dispose();
    }
}
