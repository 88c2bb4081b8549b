using Fantasy.Actors.Contract;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using Fantasy.Actors.Configuration;
using Fantasy.Actors.Connections;
using Fantasy.Actors.Diagnostics;
using Fantasy.Actors.Fallback;
using Fantasy.Actors.Persistence;
using Fantasy.Actors.Protocol;
using Fantasy.Actors.Sessions;
using Fantasy.Actors.Streams;
using static Fantasy.Actors.Sessions.SessionProtocol;

namespace Fantasy.Actors.Api;

/// <summary>
/// <see cref="IResponsesSessions"/> over a session manager actor in an <see cref="ActorSystem"/>. The actor
/// system's lifetime belongs to whoever created it.
/// </summary>
public sealed class ResponsesSessions : IResponsesSessions
{
    /// <summary>The session manager; under Akka.Hosting it may not be registered yet when this API is resolved.</summary>
    private readonly Task<IActorRef> managerRef;

    /// <summary>Completes when the actor system has terminated: no turn can be ended by it any more.</summary>
    private readonly CancellationToken stopped;
    private readonly TimeSpan askTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How many taken events are acknowledged at once: an eighth of the consumer window.</summary>
    private int AckEvery => Math.Max(1, Settings.Session.ConsumerWindow / 8);

    /// <summary>Or as soon as this many bytes were taken: an eighth of the window in bytes.</summary>
    private long AckBytes => Math.Max(1, Settings.Session.ConsumerWindowBytes / 8);
    private long nextTurn;

    /// <summary>Cluster mode: the relay on this node that receives the events of turns whose session lives elsewhere.</summary>
    private readonly Task<IActorRef>? relayRef;
    private readonly string turnPrefix = "turn-";

    /// <summary>Starts the session manager in <paramref name="system"/>.</summary>
    /// <param name="system">The actor system; its config should fall back to <see cref="FantasySettings.DefaultConfig"/>.</param>
    /// <param name="credentials">The upstream API key (and organization/project).</param>
    /// <param name="settings">Tunables; default: read from the system's config.</param>
    /// <param name="name">The manager's actor name.</param>
    public ResponsesSessions(ActorSystem system, UpstreamCredentials credentials, FantasySettings? settings = null, string name = "fantasy-sessions")
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(credentials);
        Settings = settings ?? FantasySettings.FromConfig(system.Settings.Config);
        managerRef = Task.FromResult(StartManager(system, credentials, Settings, name));
        stopped = Terminated(system);
        Journal = JournalHealth.For(system, Settings.Persistence);
        Records = PersistenceServices.Start(system, Settings.Persistence);
    }

    internal ResponsesSessions(ActorSystem system, IActorRef manager, FantasySettings settings)
        : this(system, Task.FromResult(manager), settings)
    {
    }

    /// <summary>Over a manager that is still being registered (Akka.Hosting's <c>ActorRegistry.GetAsync</c>): calls wait for it.</summary>
    internal ResponsesSessions(ActorSystem system, Task<IActorRef> manager, FantasySettings settings, Task<IActorRef>? relay = null)
    {
        managerRef = manager;
        Settings = settings;
        stopped = Terminated(system);
        Journal = JournalHealth.For(system, settings.Persistence);
        Records = PersistenceServices.Start(system, settings.Persistence);
        relayRef = relay;
        if (relay is not null)
        {
            // Turn ids name a turn inside its session, which callers on every node share: unique per node too.
            turnPrefix = "turn-" + Guid.NewGuid().ToString("N")[..12] + "-";
        }
    }

    /// <summary>Starts a session manager; its shared connection handler is released when the system terminates.</summary>
    /// <param name="http">The HTTP fallback's client (from <c>IHttpClientFactory</c> where DI is present); default: one owned here.</param>
    internal static IActorRef StartManager(ActorSystem system, UpstreamCredentials credentials, FantasySettings settings, string name, HttpClient? http = null) =>
        system.ActorOf(SessionManager.Props(StartEnvironment(system, credentials, settings, name, http)), name);

    /// <summary>What sessions share (the connector, the HTTP fallback actor), started in <paramref name="system"/> and released when it terminates.</summary>
    internal static SessionEnvironment StartEnvironment(ActorSystem system, UpstreamCredentials credentials, FantasySettings settings, string name, HttpClient? http = null)
    {
        StartSharedServices(system);
        var connector = new WebSocketConnector();
        var owned = http is null;
        http ??= new HttpClient(CreateHandler(settings), disposeHandler: true);
        http.Timeout = Timeout.InfiniteTimeSpan; // each request's deadline is an actor timer (fantasy.http.request-timeout)
        system.RegisterOnTermination(() =>
        {
            connector.Dispose();
            if (owned)
            {
                http.Dispose();
            }
        });
        var fallback = system.ActorOf(HttpFallbackActor.Props(settings, http, credentials), name + "-http");
        return new SessionEnvironment(settings, credentials, connector, fallback)
        {
            Journal = JournalHealth.For(system, settings.Persistence),
            Records = PersistenceServices.Start(system, settings.Persistence),
            Budget = Limits.UpstreamBudgets.For(system, settings, credentials),
        };
    }

    /// <summary>
    /// Starts the actor system's scheduler now, while the thread pool is free. Akka's default scheduler
    /// (<c>HashedWheelTimerScheduler</c>) starts on its first scheduled item and blocks the calling thread until its
    /// worker runs; left to the first sessions, a burst of them each block a pool thread in their first timer
    /// while the worker waits for one, and the burst stalls for seconds.
    /// </summary>
    /// <remarks>
    /// The shared stream materializer is started here too, for the same reason (<see cref="StreamMaterializer"/>):
    /// everything Akka starts lazily that a burst of sessions would otherwise start together.
    /// </remarks>
    internal static void StartSharedServices(ActorSystem system)
    {
        system.Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(1), static () => { });
        if (!StreamMaterializer.Start(system, system.Settings.CreationTimeout))
        {
            system.Log.Warning("the stream materializer's supervisor had not started after {0}; the first connections may wait for it", system.Settings.CreationTimeout);
        }
    }

    public FantasySettings Settings { get; }

    /// <summary>The conversation store (<c>fantasy.persistence</c>): deleting records, the durable response-id index; null without persistence.</summary>
    public RecordStore? Records { get; }

    /// <summary>What the sessions know about their journal (<see cref="JournalHealth.Enabled"/> false without persistence).</summary>
    public JournalHealth Journal { get; }

    /// <summary>The pooled handler the HTTP fallback's client uses.</summary>
    internal static SocketsHttpHandler CreateHandler(FantasySettings settings) => new()
    {
        ConnectTimeout = settings.Connection.ConnectTimeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = Math.Max(settings.Http.MaxInFlight, 2),
    };

    /// <summary>A token cancelled when the actor system has terminated: no turn can be ended by it any more.</summary>
    private static CancellationToken Terminated(ActorSystem system)
    {
        // Lives as long as the actor system; it holds no timer, so there is nothing to dispose.
#pragma warning disable CA2000
        var terminated = new CancellationTokenSource();
#pragma warning restore CA2000
        system.WhenTerminated.ContinueWith(static (_, state) => ((CancellationTokenSource)state!).Cancel(), terminated, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return terminated.Token;
    }

    public async IAsyncEnumerable<TurnEvent> RunTurnAsync(SessionKey session, ResponseRequest request, TurnOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (session.SessionId is null or "~")
        {
            throw new ArgumentException("the session key is empty; create it with new SessionKey(tenant, conversation)", nameof(session));
        }

        var turnId = turnPrefix + Interlocked.Increment(ref nextTurn).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var channel = Channel.CreateUnbounded<TurnEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var manager = managerRef.IsCompletedSuccessfully ? managerRef.Result : await managerRef.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Cancels go where the turn went: to the manager, or in cluster mode through the relay (behind the turn it sent).
        var canceller = manager;
        if (relayRef is not null)
        {
            var relay = relayRef.IsCompletedSuccessfully ? relayRef.Result : await relayRef.WaitAsync(cancellationToken).ConfigureAwait(false);
            var submit = new SubmitTurn(session, turnId, request, options ?? TurnOptions.Default, new Cluster.RelayTurnOutput(relay, turnId));
            relay.Tell(new Cluster.TurnRelay.Register(turnId, session, channel.Writer, submit, manager));
            canceller = relay;
        }
        else
        {
            manager.Tell(new SubmitTurn(session, turnId, request, options ?? TurnOptions.Default, new ChannelTurnOutput(channel.Writer)));
        }
        var finished = false;
        var telemetry = TurnTelemetry.Start(session, request);
        var sawEvent = false;
        var taken = 0;
        var takenBytes = 0L;
        await using var registration = cancellationToken.Register(() => canceller.Tell(new CancelSessionTurn(session, turnId)));

        // If the actor system goes away with the turn (it never reached a session, or its terminal could not be
        // written), the channel is completed without a terminal and the turn ends here. One registration a turn,
        // nothing allocated per wait.
        await using var stop = stopped.UnsafeRegister(static writer => ((ChannelWriter<TurnEvent>)writer!).TryComplete(), channel.Writer);
        try
        {
            // The turn always ends with TurnFinished (cancellation included), so reading does not take the token.
            var reader = channel.Reader;
            while (true)
            {
                if (!reader.TryRead(out var item))
                {
                    if (!await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
                    {
                        break;
                    }

                    continue;
                }

                if (item is TurnFinished end)
                {
                    finished = true;
                    telemetry.Finished(end.End);
                }
                else if (item is TurnStarted started)
                {
                    telemetry.Started(started);
                }
                else if (item is TurnUpstreamEvent upstream && (FirstEvent(telemetry, ref sawEvent) | ++taken == AckEvery | (takenBytes += upstream.Event.ReceivedBytes) >= AckBytes))
                {
                    // Taken events are acknowledged in groups, well inside the consumer window (events and bytes).
                    manager.Tell(new TurnEventTaken(session, turnId, taken));
                    taken = 0;
                    takenBytes = 0;
                }

                yield return item;
            }

            if (!finished)
            {
                finished = true;
                var stopped = TurnEnd.Failed("the session service stopped before the turn ended", retryable: true);
                telemetry.Finished(stopped);
                yield return new TurnFinished(stopped);
            }
        }
        finally
        {
            if (!finished)
            {
                // The caller stopped reading before the end: the turn is cancelled, not left running.
                canceller.Tell(new CancelSessionTurn(session, turnId));
                telemetry.Abandoned();
            }
        }
    }

    /// <summary>Notes the turn's first upstream event once; always false (it takes part in no acknowledgement).</summary>
    private static bool FirstEvent(TurnTelemetry telemetry, ref bool seen)
    {
        if (!seen)
        {
            seen = true;
            telemetry.FirstEvent();
        }

        return false;
    }

    public async Task<TurnEnd> RunTurnToEndAsync(SessionKey session, ResponseRequest request, TurnOptions? options = null, CancellationToken cancellationToken = default)
    {
        await foreach (var item in RunTurnAsync(session, request, options, cancellationToken).ConfigureAwait(false))
        {
            if (item is TurnFinished finished)
            {
                return finished.End;
            }
        }

        throw new InvalidOperationException($"turn of session {session} ended without a terminal");
    }

    public async Task<SessionStatus?> GetStatusAsync(SessionKey session, CancellationToken cancellationToken = default)
    {
        var manager = await managerRef.WaitAsync(cancellationToken).ConfigureAwait(false);
        var answer = await manager.Ask<object>(new GetSessionStatus(session), askTimeout, cancellationToken).ConfigureAwait(false);
        return answer as SessionStatus;
    }

    public Task<bool> CloseAsync(SessionKey session, CancellationToken cancellationToken = default) => CloseAsync(session, forget: false, cancellationToken);

    public async Task<bool> CloseAsync(SessionKey session, bool forget, CancellationToken cancellationToken = default)
    {
        var manager = await managerRef.WaitAsync(cancellationToken).ConfigureAwait(false);
        var answer = await manager.Ask<SessionClosed>(new CloseSession(session, forget), forget ? askTimeout * 3 : askTimeout, cancellationToken).ConfigureAwait(false);
        return answer.Problem is null ? answer.Existed : throw new InvalidOperationException(answer.Problem);
    }
}
