using System.Diagnostics;
using Fantasy.Actors.Contract;
using Fantasy.Actors.Protocol;

namespace Fantasy.Actors.Diagnostics;

/// <summary>
/// The span of one turn as its caller sees it (<see cref="ActivitySourceName"/>), following the OpenTelemetry GenAI
/// semantic conventions — <c>{gen_ai.operation.name} {gen_ai.request.model}</c>, kind Client, <c>gen_ai.*</c>
/// attributes — with the project's own (<c>fantasy.*</c>), and the GenAI metrics of <see cref="FantasyMetrics"/>.
/// The span's parent is the caller's current activity (an ASP.NET Core request's, so W3C trace context flows from
/// the gateway's request into the turn). A library exposes the names; the application chooses the exporters.
/// </summary>
public sealed class TurnTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> name to add to a tracer provider.</summary>
    public const string ActivitySourceName = "Fantasy.Actors";

    private static readonly ActivitySource Source = new(ActivitySourceName, "1.0");

    private readonly Activity? activity;
    private readonly long started = Stopwatch.GetTimestamp();
    private readonly string? model;
    private bool firstEvent;

    private TurnTelemetry(SessionKey session, ResponseRequest request)
    {
        model = request.Model;
        // Nothing listening (no tracer provider): no span name built per turn either.
        activity = Source.HasListeners() ? Source.StartActivity(request.Model is { } m ? "chat " + m : "chat", ActivityKind.Client) : null;
        if (activity is { IsAllDataRequested: true } a)
        {
            a.SetTag("gen_ai.operation.name", "chat");
            a.SetTag("gen_ai.provider.name", "openai");
            a.SetTag("gen_ai.request.model", request.Model);
            a.SetTag("gen_ai.conversation.id", session.Conversation);
            a.SetTag("fantasy.tenant", session.Tenant);
            if (request.MaxOutputTokens is { } max)
            {
                a.SetTag("gen_ai.request.max_tokens", max);
            }

            if (request.Temperature is { } temperature)
            {
                a.SetTag("gen_ai.request.temperature", temperature);
            }
        }
    }

    /// <summary>Starts the turn's span (when anything listens) and its clock.</summary>
    public static TurnTelemetry Start(SessionKey session, ResponseRequest request) => new(session, request);

    public void Started(TurnStarted started)
    {
        activity?.SetTag("fantasy.transport", started.Transport.Name());
        activity?.SetTag("fantasy.chained", started.Chained);
    }

    public void FirstEvent()
    {
        if (firstEvent)
        {
            return;
        }

        firstEvent = true;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        FantasyMetrics.TimeToFirstChunk.Record(seconds, new KeyValuePair<string, object?>("gen_ai.operation.name", "chat"), new KeyValuePair<string, object?>("gen_ai.request.model", model));
        activity?.SetTag("fantasy.time_to_first_event_ms", Math.Round(seconds * 1000, 3));
    }

    /// <summary>Ends the span with the turn's outcome, response and usage; records the duration, tokens and turn count.</summary>
    public void Finished(TurnEnd end)
    {
        var transport = end.Transport.Name();
        var outcome = end.Outcome.Name();
        var errorType = end.Outcome is TurnOutcome.Completed or TurnOutcome.Incomplete ? null
            : end.Error?.Code ?? end.Error?.Type ?? (end.Rejection is { } r ? "rejected_" + r.ToString().ToLowerInvariant() : outcome);
        var responseModel = end.Result.Model;
        var tags = new TagList
        {
            { "gen_ai.operation.name", "chat" },
            { "gen_ai.provider.name", "openai" },
            { "gen_ai.request.model", model },
        };
        if (responseModel is not null)
        {
            tags.Add("gen_ai.response.model", responseModel);
        }

        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        FantasyMetrics.OperationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        if (end.Result.Usage is { } usage)
        {
            var input = tags;
            input.Add("gen_ai.token.type", "input");
            FantasyMetrics.TokenUsage.Record(usage.InputTokens, input);
            var output = tags;
            output.Add("gen_ai.token.type", "output");
            FantasyMetrics.TokenUsage.Record(usage.OutputTokens, output);
        }

        FantasyMetrics.Turns.Add(1, new KeyValuePair<string, object?>("fantasy.outcome", outcome), new KeyValuePair<string, object?>("fantasy.transport", transport));
        if (activity is not { } a)
        {
            return;
        }

        a.SetTag("gen_ai.response.id", end.ResponseId);
        a.SetTag("gen_ai.response.model", responseModel);
        if (end.Result.Usage is { } u)
        {
            a.SetTag("gen_ai.usage.input_tokens", u.InputTokens);
            a.SetTag("gen_ai.usage.output_tokens", u.OutputTokens);
            a.SetTag("fantasy.usage.cached_input_tokens", u.CachedTokens);
        }

        if (end.Result.FinishReason is { } finish)
        {
            a.SetTag("gen_ai.response.finish_reasons", new[] { finish.ToString().ToLowerInvariant() });
        }

        if (end.Diagnostics is { } d)
        {
            a.SetTag("fantasy.replayed", d.Replays > 0);
            a.SetTag("fantasy.replays", d.Replays);
            a.SetTag("fantasy.connection.epoch", d.ConnectionEpoch);
            a.SetTag("fantasy.upstream.bytes_sent", d.BytesSent);
            if (d.TransportReason is { } why)
            {
                a.SetTag("fantasy.fallback.reason", why);
            }
        }

        a.SetTag("fantasy.outcome", outcome);
        a.SetTag("fantasy.transport", transport);
        a.SetTag("fantasy.chained", end.Chained);
        if (end.Metadata.TryGetValue("x-request-id", out var requestId))
        {
            a.SetTag("fantasy.upstream.request_id", requestId);
        }

        if (errorType is not null)
        {
            a.SetTag("error.type", errorType);
            a.SetTag("fantasy.retryable", end.Retryable);
            a.SetStatus(ActivityStatusCode.Error, end.Reason ?? end.Error?.Message);
        }

        a.Dispose();
    }

    /// <summary>The caller stopped reading before the end: the span ends as cancelled.</summary>
    public void Abandoned()
    {
        if (activity is { } a && !a.IsStopped)
        {
            a.SetTag("error.type", TurnOutcome.Cancelled.Name());
            a.SetStatus(ActivityStatusCode.Error, "the caller stopped reading before the turn ended");
            a.Dispose();
        }
    }
}
