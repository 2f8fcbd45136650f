package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/policy/webhooks"
)

// startWebhooks makes the endpoints' cursors and starts their senders. It
// runs once the store is open and before anything can record a consent
// change, so that a new endpoint's first event is the first after this
// start. A SIGHUP applies a changed webhooks section (reloadWebhooks).
// Requests are signed with the wall clock's time, whatever clock the
// policy runs on.
func (p *proxy) startWebhooks() error {
	o, err := webhookSettings(p.cfg)
	if err != nil {
		return err
	}
	p.hookSettings = o
	o.Store, o.Logger, o.UserAgent = p.store, p.log, "optguard/"+version
	p.hooks, err = webhooks.New(context.Background(), o)
	if err != nil {
		return err
	}
	p.hooks.Start()
	return nil
}

// reloadWebhooks applies the webhooks section of cfg (o, from
// webhookSettings) when it differs from the running one: changed reports
// that it did, err that the dispatcher refused it and the running
// endpoints stay. The senders finish the request each is making, for up to
// 5 seconds; a request cut then is sent again.
func (p *proxy) reloadWebhooks(o webhooks.Options) (changed bool, err error) {
	if reflect.DeepEqual(o, p.hookSettings) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.hooks.Reload(ctx, o); err != nil {
		return false, err
	}
	p.hookSettings = o
	return true, nil
}

// stopWebhooks lets the requests under way finish, for up to 5 seconds:
// what is cut is sent again at the next start.
func (p *proxy) stopWebhooks() {
	if p.hooks == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.hooks.Close(ctx); err != nil {
		p.log.Warn().Err(err).Msg("webhook requests were cut at shutdown; their events are sent again at the next start")
	}
}

// webhookSettings is the webhooks section for policy/webhooks: the
// endpoints (webhookEndpoints) and the dispatcher's settings, without the
// store, logger and user agent that serve gives it.
func webhookSettings(cfg *config.Config) (webhooks.Options, error) {
	eps, err := webhookEndpoints(cfg)
	w := cfg.Webhooks
	return webhooks.Options{Endpoints: eps, BatchSize: w.BatchSize, RetryMin: time.Duration(w.RetryMin),
		RetryMax: time.Duration(w.RetryMax), Keep: w.DeliveryLog}, err
}

// webhookEndpoints is webhooks.endpoints for policy/webhooks, with each
// secret read and each events list parsed; errors name the key, with its
// file and line.
func webhookEndpoints(cfg *config.Config) ([]webhooks.Endpoint, error) {
	var out []webhooks.Endpoint
	var errs []error
	for i, e := range cfg.Webhooks.Endpoints {
		key := fmt.Sprintf("webhooks.endpoints[%d]", i)
		sel, err := webhooks.ParseEvents(e.Events)
		if err != nil {
			k := key + ".events"
			var ee *webhooks.EventsError
			if errors.As(err, &ee) {
				k = fmt.Sprintf("%s[%d]", k, ee.Index)
			}
			errs = append(errs, cfg.KeyError(k, errors.New(strings.TrimPrefix(err.Error(), "webhooks: "))))
			continue
		}
		secret, err := e.LoadSecret()
		if err != nil {
			errs = append(errs, cfg.KeyError(key+".secret_file", err))
			continue
		}
		timeout := e.Timeout
		if timeout == 0 {
			timeout = cfg.Webhooks.Timeout
		}
		out = append(out, webhooks.Endpoint{Name: e.Name, URL: e.URL, Secret: secret, Events: sel,
			Organizations: e.Organizations, Timeout: time.Duration(timeout), FromStart: e.FromStart})
	}
	return out, errors.Join(errs...)
}
